#include "text/tokenizer_json.h"

#include <cstdint>

#include "io/error.h"

namespace medvqa::text {

namespace {

using nlohmann::json;

// Builds the JSON tree like nlohmann's own parser, except for the two tables under "model".
class Reader : public json::json_sax_t {
 public:
  explicit Reader(TokenizerJson& out) : out_(out) {}

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(json::number_integer_t v) override {
    if (mode_ == Mode::kVocab) return vocab_entry(v);
    return value(v);
  }
  bool number_unsigned(json::number_unsigned_t v) override {
    if (mode_ == Mode::kVocab)
      return vocab_entry(v > static_cast<json::number_unsigned_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
    return value(v);
  }
  bool number_float(json::number_float_t v, const json::string_t&) override { return value(v); }
  // Text JSON has no binary values; this only completes the interface.
  bool binary(json::binary_t&) override { return false; }

  bool string(json::string_t& v) override {
    switch (mode_) {
      case Mode::kMerges:
        return merge_string(v);
      case Mode::kMergePair:
        pair_.push_back(std::move(v));
        return true;
      case Mode::kVocab:
        return bad_vocab_entry();
      case Mode::kDom:
        break;
    }
    return value(std::move(v));
  }

  bool start_object(std::size_t) override {
    if (mode_ == Mode::kDom && in_model() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      out_.vocab.emplace();
      return true;
    }
    if (mode_ == Mode::kVocab) return bad_vocab_entry();
    if (mode_ != Mode::kDom) return bad_merge();
    const bool model = stack_.size() == 1 && key_ == "model";
    value(json::object());
    stack_.push_back(last_);
    if (model) model_ = last_;
    return true;
  }
  bool key(json::string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  bool start_array(std::size_t) override {
    if (mode_ == Mode::kDom && in_model() && key_ == "merges") {
      mode_ = Mode::kMerges;
      out_.merges.emplace();
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ == Mode::kVocab) return bad_vocab_entry();
    if (mode_ == Mode::kMergePair) return bad_merge();
    value(json::array());
    stack_.push_back(last_);
    return true;
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return bad_merge();
      out_.merges->emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw Error(std::string("invalid JSON: ") + e.what());
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  bool in_model() const { return model_ != nullptr && stack_.size() == 2 && stack_.back() == model_; }

  // Places a value where nlohmann's DOM parser would, remembering where it went.
  template <typename V>
  bool value(V&& v) {
    if (mode_ == Mode::kVocab) return bad_vocab_entry();
    if (mode_ != Mode::kDom) return bad_merge();
    if (stack_.empty()) {
      out_.config = json(std::forward<V>(v));
      last_ = &out_.config;
    } else if (stack_.back()->is_array()) {
      stack_.back()->push_back(json(std::forward<V>(v)));
      last_ = &stack_.back()->back();
    } else {
      last_ = &((*stack_.back())[key_] = json(std::forward<V>(v)));
    }
    return true;
  }

  bool vocab_entry(int64_t id) {
    if (id < 0) throw Error("vocab entry '" + key_ + "' has a negative or huge id");
    out_.vocab->insert_or_assign(key_, id);
    return true;
  }
  bool bad_vocab_entry() { throw Error("vocab entry '" + key_ + "' is not an integer id"); }
  bool bad_merge() {
    throw Error("merge #" + std::to_string(out_.merges->size()) + " is neither \"a b\" nor [\"a\", \"b\"]");
  }
  bool merge_string(const std::string& s) {
    const size_t space = s.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == s.size()) return bad_merge();
    out_.merges->emplace_back(s.substr(0, space), s.substr(space + 1));
    return true;
  }

  TokenizerJson& out_;
  std::vector<json*> stack_;
  json* last_ = nullptr;
  json* model_ = nullptr;
  std::string key_;
  Mode mode_ = Mode::kDom;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson parse_tokenizer_json(const std::string& text) {
  TokenizerJson out;
  Reader reader(out);
  json::sax_parse(text, &reader);
  return out;
}

}  // namespace medvqa::text
