#include "text/post_processor.h"

#include <algorithm>

#include "io/error.h"
#include "text/byte_level.h"
#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace medvqa::text {

PostProcessor PostProcessor::from_json(const nlohmann::json& config) {
  PostProcessor p;
  p.config_ = config;
  if (!config.is_null()) p.add_step(config);
  return p;
}

namespace {

// [token, id] as Bert/RobertaProcessing write their cls and sep.
std::pair<std::string, int64_t> token_and_id(const nlohmann::json& config, const char* key) {
  const auto& v = config.at(key);
  return {v.at(0).get<std::string>(), v.at(1).get<int64_t>()};
}

}  // namespace

void PostProcessor::add_step(const nlohmann::json& config) {
  const auto type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& p : config.at("processors")) add_step(p);
  } else if (type == "ByteLevel") {
    if (config.value("trim_offsets", true)) steps_.push_back({{}, config.value("add_prefix_space", true)});
  } else if (type == "TemplateProcessing") {
    Step step;
    const auto& specials = config.at("special_tokens");
    for (const auto& piece : config.at("single")) {
      if (piece.contains("Sequence")) {
        const auto id = piece.at("Sequence").at("id").get<std::string>();
        if (id != "A") throw Error("TemplateProcessing single template refers to sequence " + id);
        step.template_items.push_back({true, {}, {}});
      } else {
        const auto name = piece.at("SpecialToken").at("id").get<std::string>();
        if (!specials.contains(name)) throw Error("TemplateProcessing special token '" + name + "' is not defined");
        const auto& s = specials.at(name);
        step.template_items.push_back(
            {false, s.at("ids").get<std::vector<int64_t>>(), s.at("tokens").get<std::vector<std::string>>()});
        if (step.template_items.back().ids.size() != step.template_items.back().tokens.size())
          throw Error("TemplateProcessing special token '" + name + "' has different numbers of ids and tokens");
      }
    }
    steps_.push_back(std::move(step));
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    const auto [cls, cls_id] = token_and_id(config, "cls");
    const auto [sep, sep_id] = token_and_id(config, "sep");
    if (type == "RobertaProcessing" && config.value("trim_offsets", true))
      steps_.push_back({{}, config.value("add_prefix_space", true)});
    steps_.push_back({{{false, {cls_id}, {cls}}, {true, {}, {}}, {false, {sep_id}, {sep}}}, false});
  } else {
    throw Error("unsupported post_processor type '" + type + "'");
  }
}

namespace {

// Number of characters at the start (or end) of a token that stand for spaces.
size_t count_spaces(const std::string& token, bool from_end) {
  std::vector<char32_t> chars;
  for (size_t pos = 0; pos < token.size();) {
    const CodePoint cp = decode_utf8(token, pos);
    chars.push_back(cp.value);
    pos += cp.length;
  }
  if (from_end) std::reverse(chars.begin(), chars.end());
  size_t n = 0;
  while (n < chars.size() && (chars[n] == byte_to_symbol(' ') || is_whitespace(chars[n]))) ++n;
  return n;
}

// HF's ByteLevel offset trimming: a token's offsets leave out the spaces it starts or ends with,
// except the single space add_prefix_space inserted before the first word.
void trim_offsets(Encoding& e, bool add_prefix_space) {
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    Span& o = e.offsets[i];
    size_t leading = count_spaces(e.tokens[i], false);
    const size_t trailing = count_spaces(e.tokens[i], true);
    if (leading > 0) {
      if ((i == 0 || o.first == 0) && add_prefix_space && leading == 1) leading = 0;
      o.first = std::min(o.first + leading, o.second);
    }
    if (trailing > 0 && o.second >= trailing) o.second = std::max(o.second - trailing, o.first);
  }
}

}  // namespace

void PostProcessor::process(Encoding& encoding, bool add_special_tokens) const {
  for (const Step& step : steps_) {
    if (step.template_items.empty()) {
      trim_offsets(encoding, step.add_prefix_space);
      continue;
    }
    if (!add_special_tokens) continue;
    Encoding out;
    for (const Item& item : step.template_items) {
      if (item.is_sequence) {
        for (size_t i = 0; i < encoding.ids.size(); ++i)
          out.push_back(encoding.ids[i], encoding.tokens[i], encoding.offsets[i]);
      } else {
        for (size_t i = 0; i < item.ids.size(); ++i) out.push_back(item.ids[i], item.tokens[i], {0, 0});
      }
    }
    encoding = std::move(out);
  }
}

}  // namespace medvqa::text
