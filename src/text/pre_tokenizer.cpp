#include "text/pre_tokenizer.h"

#include <string>

#include "io/error.h"

namespace medvqa::text {

PreTokenizer PreTokenizer::from_json(const nlohmann::json& config) {
  PreTokenizer p;
  p.config_ = config;
  if (!config.is_null()) p.add_step(config);
  return p;
}

void PreTokenizer::add_step(const nlohmann::json& config) {
  const auto type = config.at("type").get<std::string>();
  if (byte_level_step_) throw Error("pre_tokenizer " + type + " after ByteLevel is not supported");
  if (type == "Sequence") {
    for (const auto& step : config.at("pretokenizers")) add_step(step);
  } else if (type == "Split") {
    splits_.push_back({SplitPattern::from_json(config.at("pattern")),
                       parse_split_behavior(config.at("behavior").get<std::string>()),
                       config.value("invert", false)});
  } else if (type == "ByteLevel") {
    byte_level_step_ = ByteLevelStep{config.value("add_prefix_space", true), config.value("use_regex", true)};
    byte_level_ = true;
  } else {
    throw Error("unsupported pre_tokenizer type '" + type + "'");
  }
}

std::vector<Piece> PreTokenizer::split(std::string_view text, size_t begin, size_t end) const {
  std::vector<Piece> pieces;
  if (begin < end) pieces.push_back({begin, end});
  for (const SplitStep& step : splits_) {
    std::vector<Piece> next;
    for (const Piece& piece : pieces) {
      const std::string_view s = text.substr(piece.begin, piece.end - piece.begin);
      for (const Span& sub : apply_split_behavior(step.pattern.find_matches(s), s.size(), step.behavior, step.invert))
        next.push_back({piece.begin + sub.first, piece.begin + sub.second});
    }
    pieces = std::move(next);
  }
  if (!byte_level_step_) return pieces;

  // Like HF, the prefix space goes in front of every piece the earlier steps produced.
  std::vector<Piece> next;
  for (const Piece& piece : pieces) {
    const bool prefix = byte_level_step_->add_prefix_space && text[piece.begin] != ' ';
    if (!byte_level_step_->use_regex) {
      next.push_back({piece.begin, piece.end, prefix});
      continue;
    }
    std::string s = prefix ? " " : "";
    s.append(text.substr(piece.begin, piece.end - piece.begin));
    const size_t shift = prefix ? 1 : 0;
    // Every character matches some alternative of the GPT-2 pattern, so its matches are the pieces.
    for (const Span& sub : SplitPattern::gpt2().find_matches(s)) {
      const bool has_prefix = prefix && sub.first == 0;
      next.push_back({piece.begin + sub.first - (has_prefix ? 0 : shift), piece.begin + sub.second - shift, has_prefix});
    }
  }
  return next;
}

}  // namespace medvqa::text
