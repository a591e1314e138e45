#include "text/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/mapped_file.h"
#include "text/byte_level.h"
#include "text/tokenizer_json.h"
#include "text/utf8.h"

namespace medvqa::text {

namespace fs = std::filesystem;

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json null_json;
  auto it = j.find(key);
  return it == j.end() ? null_json : *it;
}

// Converts errors from the components and from nlohmann (a field of the wrong type, ...) into a
// medvqa::Error that names the file.
template <typename F>
auto with_origin(const std::string& origin, F&& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": malformed tokenizer.json: " + e.what());
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
}

// special_tokens_map.json values are strings or {"content": ...} objects.
std::optional<std::string> special_map_name(const nlohmann::json& map, const char* key) {
  const auto& v = field(map, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && field(v, "content").is_string()) return v.at("content").get<std::string>();
  return std::nullopt;
}

}  // namespace

Tokenizer::Tokenizer(Bpe model, std::vector<AddedToken> added_tokens, const nlohmann::json& pipeline,
                     std::string origin)
    : origin_(std::move(origin)),
      model_(std::move(model)),
      added_(std::move(added_tokens)),
      pre_tokenizer_(PreTokenizer::from_json(field(pipeline, "pre_tokenizer"))),
      post_processor_(PostProcessor::from_json(field(pipeline, "post_processor"))),
      decoder_(Decoder::from_json(field(pipeline, "decoder"))),
      truncation_(field(pipeline, "truncation")),
      padding_(field(pipeline, "padding")) {
  if (const auto& n = field(pipeline, "normalizer"); !n.is_null()) {
    const auto& type = field(n, "type");
    throw Error("unsupported normalizer type '" + (type.is_string() ? type.get<std::string>() : n.dump()) + "'");
  }
  special_names_[kBos] = {"<s>", "<|endoftext|>"};
  special_names_[kEos] = {"</s>", "<|endoftext|>"};
  special_names_[kPad] = {"<pad>"};
  special_names_[kUnk] = {"<unk>"};
  if (model_.options().unk_token) special_names_[kUnk].insert(special_names_[kUnk].begin(), *model_.options().unk_token);
}

Tokenizer Tokenizer::from_parts(Bpe model, std::vector<AddedToken> added_tokens, const nlohmann::json& pipeline,
                                const std::string& origin) {
  return with_origin(origin, [&] { return Tokenizer(std::move(model), std::move(added_tokens), pipeline, origin); });
}

Tokenizer Tokenizer::from_json(const std::string& json_text, const std::string& origin) {
  return with_origin(origin, [&] {
    TokenizerJson parsed = parse_tokenizer_json(json_text);
    const nlohmann::json& j = parsed.config;
    if (!j.is_object()) throw Error("tokenizer.json must be a JSON object");
    if (!j.contains("model")) throw Error("no \"model\" in tokenizer.json");
    Bpe model = Bpe::from_json(j.at("model"), std::move(parsed.vocab), std::move(parsed.merges));
    std::vector<AddedToken> added;
    if (const auto& list = field(j, "added_tokens"); !list.is_null())
      for (const auto& entry : list) added.push_back(AddedToken::from_json(entry));
    return Tokenizer(std::move(model), std::move(added), j, origin);
  });
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::is_directory(path, ec) ? fs::path(path) / "tokenizer.json" : fs::path(path);
  if (!fs::is_regular_file(file, ec)) throw Error(file.string() + ": no such tokenizer file");
  Tokenizer t = from_json(io::read_text_file(file.string()), file.string());

  // transformers reads the role names from here; the defaults cover files without it.
  const fs::path map_file = file.parent_path() / "special_tokens_map.json";
  if (fs::is_regular_file(map_file, ec)) {
    nlohmann::json map;
    try {
      map = nlohmann::json::parse(io::read_text_file(map_file.string()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(map_file.string() + ": invalid JSON: " + e.what());
    }
    const char* keys[kRoles] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    for (int role = 0; role < kRoles; ++role)
      if (auto name = special_map_name(map, keys[role]))
        t.special_names_[role].insert(t.special_names_[role].begin(), *name);
  }
  return t;
}

void Tokenizer::encode_piece(const std::string& text, const Piece& piece, Encoding& out) const {
  const size_t shift = piece.prefix_space ? 1 : 0;
  std::string src = piece.prefix_space ? " " : "";
  src.append(text, piece.begin, piece.end - piece.begin);

  // Where each byte of the model's word came from in `src`: the byte-level alphabet writes every
  // source byte as one (1- or 2-byte) character.
  std::string word;
  std::vector<size_t> src_pos;
  if (pre_tokenizer_.byte_level()) {
    word = bytes_to_symbols(src);
    src_pos.resize(word.size() + 1);
    size_t w = 0;
    for (size_t s = 0; s < src.size(); ++s) {
      const size_t len = decode_utf8(word, w).length;
      for (size_t k = 0; k < len; ++k) src_pos[w + k] = s;
      w += len;
    }
    src_pos[word.size()] = src.size();
  } else {
    word = src;
    src_pos.resize(word.size() + 1);
    for (size_t i = 0; i <= word.size(); ++i) src_pos[i] = i;
  }

  // The inserted prefix space counts as part of the piece's first byte.
  auto start_of = [&](size_t s) { return s <= shift ? piece.begin : piece.begin + s - shift; };
  auto end_of = [&](size_t s) { return s <= shift ? std::min(piece.begin + 1, piece.end) : piece.begin + s - shift; };
  for (const Bpe::Token& t : model_.tokenize(word))
    out.push_back(t.id, *model_.id_to_token(t.id), {start_of(src_pos[t.begin]), end_of(src_pos[t.end])});
}

Encoding Tokenizer::encode_with_offsets(const std::string& text, bool add_special_tokens) const {
  Encoding out;
  for (const AddedVocabulary::Segment& seg : added_.split(text)) {
    if (seg.token != nullptr) {
      out.push_back(seg.token->id, seg.token->content, {seg.begin, seg.end});
      continue;
    }
    for (const Piece& piece : pre_tokenizer_.split(text, seg.begin, seg.end)) encode_piece(text, piece, out);
  }
  post_processor_.process(out, add_special_tokens);
  return out;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
  return encode_with_offsets(text, add_special_tokens).ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (const AddedToken* a = added_.find(id)) {
      if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
    } else if (const std::string* t = model_.id_to_token(id)) {
      tokens.push_back(*t);
    }
  }
  return decoder_.decode(std::move(tokens));
}

std::optional<int64_t> Tokenizer::token_to_id(const std::string& token) const {
  if (const AddedToken* a = added_.find(token)) return a->id;
  return model_.token_to_id(token);
}

std::string Tokenizer::id_to_token(int64_t id) const {
  if (const AddedToken* a = added_.find(id)) return a->content;
  if (const std::string* t = model_.id_to_token(id)) return *t;
  throw Error(origin_ + ": token id " + std::to_string(id) + " is not in the vocabulary");
}

int64_t Tokenizer::vocab_size() const {
  int64_t max_id = model_.max_id();
  for (const AddedToken& a : added_.tokens()) max_id = std::max(max_id, a.id);
  return max_id + 1;
}

std::optional<int64_t> Tokenizer::special_id(SpecialRole role) const {
  for (const std::string& name : special_names_[role])
    if (auto id = token_to_id(name)) return id;
  return std::nullopt;
}

std::string Tokenizer::to_json() const {
  std::ostringstream out;
  out << "{\n  \"version\": \"1.0\",\n  \"truncation\": " << truncation_.dump() << ",\n  \"padding\": " << padding_.dump()
      << ",\n  \"added_tokens\": [";
  const auto& added = added_.tokens();
  for (size_t i = 0; i < added.size(); ++i) out << (i ? ",\n    " : "\n    ") << added[i].to_json().dump();
  out << (added.empty() ? "]" : "\n  ]") << ",\n  \"normalizer\": null,\n  \"pre_tokenizer\": "
      << pre_tokenizer_.config().dump() << ",\n  \"post_processor\": " << post_processor_.config().dump()
      << ",\n  \"decoder\": " << decoder_.config().dump() << ",\n  \"model\": " << model_.to_json() << "\n}\n";
  return out.str();
}

void Tokenizer::save(const std::string& path) const { io::write_file_atomically(path, to_json()); }

}  // namespace medvqa::text
