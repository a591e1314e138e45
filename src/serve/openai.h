#pragma once
// The OpenAI chat-completions wire format, as far as a one-image VQA model can honour it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "infer/answerer.h"
#include "io/error.h"

namespace medvqa::serve {

// A request the client got wrong: the status (4xx) and OpenAI's error fields go back as JSON.
struct RequestError : Error {
  RequestError(int status, const std::string& message, std::string param = "", std::string code = "")
      : Error(message), status(status), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string param, code;
};

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param = "",
                          const std::string& code = "");

struct ChatRequest {
  std::string question;        // the text of the last user message
  // The conversation before it: each earlier user message with the assistant message that answered it.
  std::vector<infer::Turn> history;
  std::vector<uint8_t> image;  // bytes of the last image_url part (a data: URI)
  int64_t max_tokens = 0;      // 0: the model's default
  double temperature = 0;
  double min_confidence = 0;  // medvqa's field: withhold answers less likely than this
  std::string heatmap;        // medvqa's field: "attention" or "gradcam" to get where the model looked
  bool stream = false;
};

// Unknown fields are ignored, as OpenAI does; known ones must have the right types.
ChatRequest parse_chat_request(const nlohmann::json& body, int64_t max_tokens_limit);
// A chat-completions request body as it arrives: malformed JSON is a 400 like any other mistake.
ChatRequest read_chat_request(const std::string& body, int64_t max_tokens_limit);

// "data:image/png;base64,...." → bytes. Other URLs are refused: the server fetches nothing.
std::vector<uint8_t> decode_data_uri(const std::string& uri);

struct Completion {
  std::string id, model;
  int64_t created = 0;
  infer::Answer answer;
  bool truncated = false;  // stopped by max_tokens rather than EOS
  nlohmann::json extra;    // medvqa's fields: notice, closed probabilities, timings
};

nlohmann::json completion_json(const Completion& c);
// Server-sent events of a streamed completion: first the role, then each piece of the answer,
// then the finish reason with usage and medvqa's fields and [DONE] (two events).
std::string stream_start_event(const Completion& c);
std::string stream_piece_event(const Completion& c, const std::string& piece);
std::string stream_end_events(const Completion& c);
// An error after the stream has begun (its status is sent), then [DONE].
std::string stream_error_events(const std::string& message);
// All of them for an answer already complete, in the given pieces.
std::vector<std::string> completion_events(const Completion& c, const std::vector<std::string>& pieces);

}  // namespace medvqa::serve
