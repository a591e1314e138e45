#include "infer/text_streamer.h"

namespace medvqa::infer {

std::string TextStreamer::push(int64_t token) {
  ids_.push_back(token);
  const std::string text = tokenizer_->decode(ids_, /*skip_special_tokens=*/true);
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.size();
  // The decoder writes U+FFFD for a character whose bytes have not all come yet: wait for them.
  static const std::string kReplacement = "\xEF\xBF\xBD";
  if (end - begin >= 3 && text.compare(end - 3, 3, kReplacement) == 0) end -= 3;
  while (end > begin && std::string(" \t\r\n").find(text[end - 1]) != std::string::npos) --end;
  if (end - begin <= sent_.size() || text.compare(begin, sent_.size(), sent_) != 0) return "";
  std::string piece = text.substr(begin + sent_.size(), end - begin - sent_.size());
  sent_ += piece;
  return piece;
}

std::string TextStreamer::finish(const std::string& answer) const {
  if (answer.compare(0, sent_.size(), sent_) != 0) return "";
  return answer.substr(sent_.size());
}

std::vector<std::string> stream_pieces(const text::Tokenizer& tokenizer, const std::string& answer) {
  TextStreamer streamer(tokenizer);
  std::vector<std::string> pieces;
  for (int64_t id : tokenizer.encode(answer, false))
    if (auto piece = streamer.push(id); !piece.empty()) pieces.push_back(std::move(piece));
  if (auto rest = streamer.finish(answer); !rest.empty()) pieces.push_back(std::move(rest));
  return pieces;
}

}  // namespace medvqa::infer
