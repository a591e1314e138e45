#include "text/decoder.h"

#include "io/error.h"
#include "text/byte_level.h"
#include "text/utf8.h"

namespace medvqa::text {

Decoder Decoder::from_json(const nlohmann::json& config) {
  Decoder d;
  d.config_ = config;
  if (!config.is_null()) d.add_step(config);
  return d;
}

void Decoder::add_step(const nlohmann::json& config) {
  const auto type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& d : config.at("decoders")) add_step(d);
  } else if (type == "ByteLevel") {
    ++byte_level_steps_;
  } else {
    throw Error("unsupported decoder type '" + type + "'");
  }
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  if (config_.is_null()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (size_t step = 0; step < byte_level_steps_; ++step) {
    // A token outside the byte alphabet (an added token such as "<|im_start|>") passes as its own
    // bytes; the byte string as a whole may split characters across tokens, so validity is only
    // restored at the end.
    std::string bytes;
    for (const std::string& t : tokens) {
      if (auto b = symbols_to_bytes(t))
        bytes += *b;
      else
        bytes += t;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string clean_up_tokenization_spaces(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},       {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"},   {" 's", "'s"},   {" 've", "'ve"},   {" 're", "'re"},
  };
  // Rule by rule over the whole text, like a chain of Python str.replace calls.
  for (const auto& [from, to] : kRules) {
    const std::string f(from), t(to);
    std::string out;
    size_t pos = 0;
    for (size_t hit = text.find(f); hit != std::string::npos; hit = text.find(f, pos)) {
      out.append(text, pos, hit - pos);
      out += t;
      pos = hit + f.size();
    }
    out.append(text, pos, std::string::npos);
    text = std::move(out);
  }
  return text;
}

}  // namespace medvqa::text
