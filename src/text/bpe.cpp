#include "text/bpe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <queue>
#include <sstream>

#include "io/error.h"
#include "text/utf8.h"

namespace medvqa::text {

Bpe::Cache& Bpe::Cache::operator=(const Cache&) {
  std::lock_guard<std::mutex> lock(mutex_);
  words_.clear();
  return *this;
}

std::optional<std::vector<Bpe::Token>> Bpe::Cache::get(const std::string& word) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = words_.find(word);
  if (it == words_.end()) return std::nullopt;
  return it->second;
}

void Bpe::Cache::put(const std::string& word, const std::vector<Token>& tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (words_.size() < kCapacity) words_.emplace(word, tokens);
}

Bpe::Bpe(Vocab vocab, std::vector<Merge> merges, BpeOptions options)
    : vocab_(std::move(vocab)), merges_(std::move(merges)), options_(std::move(options)) {
  tokens_by_id_.reserve(vocab_.size());
  for (const auto& [token, id] : vocab_) {
    // Merge keys pack two ids into 64 bits.
    if (id < 0 || id > std::numeric_limits<int32_t>::max())
      throw Error("token '" + token + "' has id " + std::to_string(id) + ", outside [0, 2^31)");
    auto [it, inserted] = tokens_by_id_.emplace(id, token);
    if (!inserted) throw Error("tokens '" + it->second + "' and '" + token + "' share id " + std::to_string(id));
    max_id_ = std::max(max_id_, id);
  }

  const size_t prefix_len = options_.continuing_subword_prefix ? options_.continuing_subword_prefix->size() : 0;
  merge_map_.reserve(merges_.size());
  for (size_t rank = 0; rank < merges_.size(); ++rank) {
    // Named references, not a structured binding: C++17 lambdas cannot capture those.
    const std::string& a = merges_[rank].first;
    const std::string& b = merges_[rank].second;
    auto describe = [&, rank = rank] { return "merge #" + std::to_string(rank) + " '" + a + " " + b + "'"; };
    auto ia = vocab_.find(a);
    if (ia == vocab_.end()) throw Error(describe() + " refers to unknown token '" + a + "'");
    auto ib = vocab_.find(b);
    if (ib == vocab_.end()) throw Error(describe() + " refers to unknown token '" + b + "'");
    // The right part loses its continuation prefix when glued on.
    const bool strip = prefix_len > 0 && b.compare(0, prefix_len, *options_.continuing_subword_prefix) == 0;
    const std::string merged = a + b.substr(strip ? prefix_len : 0);
    auto im = vocab_.find(merged);
    if (im == vocab_.end()) throw Error(describe() + " produces '" + merged + "', which is not in the vocabulary");
    // A repeated merge keeps its last rank, as HF's map construction does.
    merge_map_[pair_key(ia->second, ib->second)] = {static_cast<int32_t>(rank), static_cast<int32_t>(im->second)};
  }

  if (options_.unk_token) {
    auto it = vocab_.find(*options_.unk_token);
    if (it == vocab_.end()) throw Error("unk_token '" + *options_.unk_token + "' is not in the vocabulary");
    unk_id_ = it->second;
  }
}

namespace {

std::optional<std::string> optional_string(const nlohmann::json& model, const char* key) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

Bpe::Merge parse_merge(const nlohmann::json& m, size_t rank) {
  if (m.is_array() && m.size() == 2) return {m[0].get<std::string>(), m[1].get<std::string>()};
  if (m.is_string()) {
    const auto s = m.get<std::string>();
    const size_t space = s.find(' ');
    if (space != std::string::npos && space > 0 && space + 1 < s.size())
      return {s.substr(0, space), s.substr(space + 1)};
  }
  throw Error("merge #" + std::to_string(rank) + " is " + m.dump() + "; expected \"a b\" or [\"a\", \"b\"]");
}

Bpe::Vocab vocab_from_json(const nlohmann::json& model) {
  auto vocab_json = model.find("vocab");
  if (vocab_json == model.end() || !vocab_json->is_object()) throw Error("BPE model has no \"vocab\" object");
  Bpe::Vocab vocab;
  vocab.reserve(vocab_json->size());
  for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
    if (!it.value().is_number_integer()) throw Error("vocab entry '" + it.key() + "' is not an integer id");
    vocab.emplace(it.key(), it.value().get<int64_t>());
  }
  return vocab;
}

std::vector<Bpe::Merge> merges_from_json(const nlohmann::json& model) {
  std::vector<Bpe::Merge> merges;
  auto merges_json = model.find("merges");
  if (merges_json == model.end() || merges_json->is_null()) return merges;
  if (!merges_json->is_array()) throw Error("BPE \"merges\" is not an array");
  merges.reserve(merges_json->size());
  for (const auto& m : *merges_json) merges.push_back(parse_merge(m, merges.size()));
  return merges;
}

}  // namespace

Bpe Bpe::from_json(const nlohmann::json& model, std::optional<Vocab> vocab, std::optional<std::vector<Merge>> merges) {
  if (!model.is_object()) throw Error("\"model\" must be an object");
  const auto type = model.value("type", std::string("BPE"));
  if (type != "BPE") throw Error("model type '" + type + "' is not supported (only BPE)");
  if (auto d = model.find("dropout"); d != model.end() && !d->is_null() && d->get<double>() > 0)
    throw Error("BPE dropout is not supported (encoding would be random)");
  if (!vocab) vocab = vocab_from_json(model);
  if (!merges) merges = merges_from_json(model);

  BpeOptions options;
  options.unk_token = optional_string(model, "unk_token");
  options.continuing_subword_prefix = optional_string(model, "continuing_subword_prefix");
  options.end_of_word_suffix = optional_string(model, "end_of_word_suffix");
  options.fuse_unk = model.value("fuse_unk", false);
  options.byte_fallback = model.value("byte_fallback", false);
  options.ignore_merges = model.value("ignore_merges", false);
  return Bpe(std::move(*vocab), std::move(*merges), std::move(options));
}

std::string Bpe::to_json() const {
  using nlohmann::json;
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s).dump() : std::string("null"); };
  std::ostringstream out;
  out << "{\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": " << opt(options_.unk_token)
      << ",\n    \"continuing_subword_prefix\": " << opt(options_.continuing_subword_prefix)
      << ",\n    \"end_of_word_suffix\": " << opt(options_.end_of_word_suffix)
      << ",\n    \"fuse_unk\": " << (options_.fuse_unk ? "true" : "false")
      << ",\n    \"byte_fallback\": " << (options_.byte_fallback ? "true" : "false");
  // Older readers reject unknown fields, so the newer flag is written only when it matters.
  if (options_.ignore_merges) out << ",\n    \"ignore_merges\": true";

  std::vector<std::pair<int64_t, const std::string*>> by_id;
  by_id.reserve(vocab_.size());
  for (const auto& [token, id] : vocab_) by_id.emplace_back(id, &token);
  std::sort(by_id.begin(), by_id.end());
  out << ",\n    \"vocab\": {";
  for (size_t i = 0; i < by_id.size(); ++i)
    out << (i ? ",\n      " : "\n      ") << json(*by_id[i].second).dump() << ": " << by_id[i].first;
  out << (by_id.empty() ? "}" : "\n    }");

  // "a b" strings are what every reader understands, but are ambiguous when a token has a space.
  const bool as_pairs = std::any_of(merges_.begin(), merges_.end(), [](const Merge& m) {
    return m.first.find(' ') != std::string::npos || m.second.find(' ') != std::string::npos;
  });
  out << ",\n    \"merges\": [";
  for (size_t i = 0; i < merges_.size(); ++i) {
    out << (i ? ",\n      " : "\n      ");
    if (as_pairs)
      out << json::array({merges_[i].first, merges_[i].second}).dump();
    else
      out << json(merges_[i].first + " " + merges_[i].second).dump();
  }
  out << (merges_.empty() ? "]" : "\n    ]") << "\n  }";
  return out.str();
}

std::optional<int64_t> Bpe::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::id_to_token(int64_t id) const {
  auto it = tokens_by_id_.find(id);
  return it == tokens_by_id_.end() ? nullptr : &it->second;
}

std::vector<Bpe::Token> Bpe::byte_fallback_tokens(const std::string& symbol, size_t begin, size_t end) const {
  std::vector<Token> out;
  if (!options_.byte_fallback) return out;
  for (unsigned char b : symbol) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab_.find(name);
    if (it == vocab_.end()) return {};
    out.push_back({it->second, begin, end});
  }
  return out;
}

std::vector<Bpe::Token> Bpe::initial_symbols(std::string_view word) const {
  std::vector<Token> symbols;
  symbols.reserve(word.size());
  std::optional<Token> pending_unk;
  auto flush_unk = [&] {
    if (pending_unk) symbols.push_back(*pending_unk);
    pending_unk.reset();
  };

  for (size_t pos = 0; pos < word.size();) {
    const size_t len = decode_utf8(word, pos).length;
    std::string s(word.substr(pos, len));
    if (pos > 0 && options_.continuing_subword_prefix) s = *options_.continuing_subword_prefix + s;
    if (pos + len == word.size() && options_.end_of_word_suffix) s += *options_.end_of_word_suffix;

    if (auto it = vocab_.find(s); it != vocab_.end()) {
      flush_unk();
      symbols.push_back({it->second, pos, pos + len});
    } else if (auto bytes = byte_fallback_tokens(s, pos, pos + len); !bytes.empty()) {
      flush_unk();
      symbols.insert(symbols.end(), bytes.begin(), bytes.end());
    } else if (unk_id_) {
      if (pending_unk && options_.fuse_unk) {
        pending_unk->end = pos + len;
      } else {
        flush_unk();
        pending_unk = Token{*unk_id_, pos, pos + len};
      }
    }
    pos += len;
  }
  flush_unk();
  return symbols;
}

std::vector<Bpe::Token> Bpe::merge_symbols(std::vector<Token> symbols) const {
  const int n = static_cast<int>(symbols.size());
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }

  struct Candidate {
    int32_t rank;
    int pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    auto it = merge_map_.find(pair_key(symbols[left].id, symbols[next[left]].id));
    if (it != merge_map_.end()) queue.push({it->second.rank, left, it->second.new_id});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);

  // Lowest rank first, leftmost among equals. Entries go stale when a neighbour merges; like HF,
  // an entry is still valid when the pair now at its position merges into the same token.
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] < 0) continue;
    const int right = next[top.pos];
    auto it = merge_map_.find(pair_key(symbols[top.pos].id, symbols[right].id));
    if (it == merge_map_.end() || it->second.new_id != top.new_id) continue;

    symbols[top.pos].id = top.new_id;
    symbols[top.pos].end = symbols[right].end;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    consider(prev[top.pos]);
    consider(top.pos);
  }

  std::vector<Token> out;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push_back(symbols[i]);
  return out;
}

std::vector<Bpe::Token> Bpe::tokenize(std::string_view word) const {
  if (word.empty()) return {};
  const std::string key(word);
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(key); it != vocab_.end()) return {{it->second, 0, word.size()}};
  }
  if (auto hit = cache_.get(key)) return *std::move(hit);
  std::vector<Token> tokens = merge_symbols(initial_symbols(word));
  cache_.put(key, tokens);
  return tokens;
}

}  // namespace medvqa::text
