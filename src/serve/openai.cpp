#include "serve/openai.h"

#include <optional>

#include "io/json_text.h"
#include "serve/base64.h"

namespace medvqa::serve {

using json = nlohmann::json;

json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

std::vector<uint8_t> decode_data_uri(const std::string& uri) {
  if (uri.rfind("data:", 0) != 0)
    throw RequestError(400, "image_url must be a data: URI (data:image/png;base64,...); the server fetches no URLs",
                       "image_url", "unsupported_image_url");
  size_t comma = uri.find(',');
  if (comma == std::string::npos) throw RequestError(400, "image_url: malformed data URI (no comma)", "image_url");
  std::string header = uri.substr(5, comma - 5);
  if (header.size() < 7 || header.compare(header.size() - 7, 7, ";base64") != 0)
    throw RequestError(400, "image_url: the data URI must be base64-encoded (;base64,)", "image_url");
  try {
    auto bytes = base64_decode(uri.substr(comma + 1));
    if (bytes.empty()) throw RequestError(400, "image_url: the data URI holds no image", "image_url");
    return bytes;
  } catch (const RequestError&) {
    throw;
  } catch (const Error& e) {
    throw RequestError(400, std::string("image_url: ") + e.what(), "image_url");
  }
}

namespace {

[[noreturn]] void wrong_type(const std::string& field, const std::string& expected) {
  throw RequestError(400, "'" + field + "' must be " + expected, field, "invalid_type");
}

// Appends the message's text to `text` and keeps its last image.
void read_content(const json& content, const std::string& where, std::string& text, std::vector<uint8_t>& image) {
  if (content.is_string()) {
    text = content.get<std::string>();
    return;
  }
  if (!content.is_array()) wrong_type(where + ".content", "a string or an array of parts");
  text.clear();
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      wrong_type(at, "an object with a string 'type'");
    const std::string type = part["type"].get<std::string>();
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) wrong_type(at + ".text", "a string");
      if (!text.empty()) text += " ";
      text += part["text"].get<std::string>();
    } else if (type == "image_url") {
      const json* url = part.contains("image_url") ? &part["image_url"] : nullptr;
      if (url != nullptr && url->is_object() && url->contains("url")) url = &(*url)["url"];
      if (url == nullptr || !url->is_string()) wrong_type(at + ".image_url.url", "a string (a data: URI)");
      image = decode_data_uri(url->get<std::string>());
    } else {
      throw RequestError(400, at + ": unsupported content part type '" + type + "' (text and image_url are)", at);
    }
  }
}

// The text of an assistant message's content: a string, or its text parts; anything else
// (null with tool calls, refusal parts) has none.
std::string assistant_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array())
    for (const auto& part : content)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        text += (text.empty() ? "" : " ") + part["text"].get<std::string>();
  return text;
}

}  // namespace

ChatRequest parse_chat_request(const json& body, int64_t max_tokens_limit) {
  if (!body.is_object()) wrong_type("body", "a JSON object");
  if (!body.contains("messages")) throw RequestError(400, "'messages' is required", "messages", "missing_field");
  const json& messages = body["messages"];
  if (!messages.is_array() || messages.empty()) wrong_type("messages", "a non-empty array");
  ChatRequest r;
  bool has_user = false;
  // A user message answered by the next assistant message becomes an earlier turn; the last user
  // message is the question. System and tool messages carry nothing the model reads.
  std::optional<std::string> unanswered;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) wrong_type(where, "an object");
    if (!m.contains("role") || !m["role"].is_string()) wrong_type(where + ".role", "a string");
    const std::string role = m["role"].get<std::string>();
    if (role == "assistant") {
      // A turn needs a question and a real answer: an image-only message, an assistant message
      // without text (tool calls, a refusal) or a withheld "uncertain" answer add no context.
      const std::string answer = infer::trim(assistant_text(m.contains("content") ? m["content"] : json()));
      if (unanswered && !infer::trim(*unanswered).empty() && !answer.empty() && answer != infer::kUncertainAnswer)
        r.history.push_back({*unanswered, answer});
      unanswered.reset();
      continue;
    }
    if (role != "user") continue;
    if (!m.contains("content")) throw RequestError(400, where + ".content is required", where + ".content");
    std::vector<uint8_t> image;
    read_content(m["content"], where, r.question, image);
    if (!image.empty()) {
      // Turns about another image are no context for this one.
      if (image != r.image) r.history.clear();
      r.image = std::move(image);
    }
    unanswered = r.question;
    has_user = true;
  }
  if (!has_user) throw RequestError(400, "'messages' holds no user message", "messages");
  // The question is the last user message; a turn that answered it (an assistant message after
  // it) is not a question to answer again.
  if (!unanswered) throw RequestError(400, "the last user message is already answered: end 'messages' with the "
                                           "question to answer", "messages");
  if (r.image.empty())
    throw RequestError(400, "no image: add an image_url part (a data: URI) to a user message", "messages",
                       "missing_image");
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    if (!body[key].is_number_integer()) wrong_type(key, "an integer");
    r.max_tokens = body[key].get<int64_t>();
    if (r.max_tokens < 1 || r.max_tokens > max_tokens_limit)
      throw RequestError(400, std::string(key) + " must be between 1 and " + std::to_string(max_tokens_limit), key);
  }
  if (body.contains("temperature") && !body["temperature"].is_null()) {
    if (!body["temperature"].is_number()) wrong_type("temperature", "a number");
    r.temperature = body["temperature"].get<double>();
    if (r.temperature < 0 || r.temperature > 2) throw RequestError(400, "temperature must be between 0 and 2", "temperature");
  }
  if (body.contains("min_confidence") && !body["min_confidence"].is_null()) {
    if (!body["min_confidence"].is_number()) wrong_type("min_confidence", "a number");
    r.min_confidence = body["min_confidence"].get<double>();
    if (!(r.min_confidence >= 0 && r.min_confidence <= 1))
      throw RequestError(400, "min_confidence must be between 0 and 1", "min_confidence");
  }
  if (body.contains("heatmap") && !body["heatmap"].is_null()) {
    if (!body["heatmap"].is_string()) wrong_type("heatmap", "a string");
    r.heatmap = body["heatmap"].get<std::string>();
    if (r.heatmap != "attention" && r.heatmap != "gradcam")
      throw RequestError(400, "heatmap must be \"attention\" or \"gradcam\"", "heatmap");
  }
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) wrong_type("stream", "a boolean");
    r.stream = body["stream"].get<bool>();
  }
  if (body.contains("n") && !body["n"].is_null() && body["n"] != 1)
    throw RequestError(400, "only n = 1 is supported", "n");
  return r;
}

ChatRequest read_chat_request(const std::string& body, int64_t max_tokens_limit) {
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::exception& e) {  // a syntax error, or a number no double holds (1e400)
    throw RequestError(400, std::string("malformed JSON body: ") + e.what(), "", "invalid_json");
  }
  return parse_chat_request(parsed, max_tokens_limit);
}

json completion_json(const Completion& c) {
  const auto& a = c.answer;
  json j = {{"id", c.id},
            {"object", "chat.completion"},
            {"created", c.created},
            {"model", c.model},
            {"choices",
             {{{"index", 0},
               {"message", {{"role", "assistant"}, {"content", a.text}}},
               {"finish_reason", c.truncated ? "length" : "stop"}}}},
            {"usage",
             {{"prompt_tokens", a.prompt_tokens},
              {"completion_tokens", a.completion_tokens},
              {"total_tokens", a.prompt_tokens + a.completion_tokens}}}};
  j.update(c.extra);
  return j;
}

namespace {

json chunk(const Completion& c, const json& delta, const json& finish) {
  return json{{"id", c.id},
              {"object", "chat.completion.chunk"},
              {"created", c.created},
              {"model", c.model},
              {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
}

std::string event(const json& j) { return "data: " + io::json_text(j) + "\n\n"; }

const char* kDone = "data: [DONE]\n\n";

}  // namespace

std::string stream_start_event(const Completion& c) { return event(chunk(c, {{"role", "assistant"}, {"content", ""}}, nullptr)); }

std::string stream_piece_event(const Completion& c, const std::string& piece) {
  return event(chunk(c, {{"content", piece}}, nullptr));
}

std::string stream_end_events(const Completion& c) {
  json last = chunk(c, json::object(), c.truncated ? "length" : "stop");
  last["usage"] = completion_json(c)["usage"];
  last.update(c.extra);
  return event(last) + kDone;
}

std::string stream_error_events(const std::string& message) {
  return event(error_body(message, "server_error", "", "")) + kDone;
}

std::vector<std::string> completion_events(const Completion& c, const std::vector<std::string>& pieces) {
  std::vector<std::string> events = {stream_start_event(c)};
  for (const auto& p : pieces) events.push_back(stream_piece_event(c, p));
  events.push_back(stream_end_events(c));
  return events;
}

}  // namespace medvqa::serve
