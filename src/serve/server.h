#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "infer/answerer.h"
#include "infer/heatmap.h"
#include "serve/batcher.h"

namespace medvqa::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port (see Server::port)
  std::string api_key;            // non-empty: /v1/* needs "Authorization: Bearer <key>"
  std::string web_dir;            // the page's files; empty: no page
  std::string model_id = "medvqa";
  size_t max_body_bytes = 32u << 20;
  uint64_t max_pixels = 40'000'000;
  int64_t max_tokens_limit = 256;
  int http_threads = 64;          // concurrent connections being read or waiting for an answer
  // Each step of reading a request (its headers, its body) and the idle time after an answer: a
  // slower client is disconnected, as is one sending more header bytes (see ConnectionLimits).
  std::chrono::milliseconds request_timeout{30'000};
  uint64_t max_header_bytes = 64u << 10;
  size_t image_cache_entries = 64;  // encodings of recent images kept for follow-ups (0: none)
  Batcher::Options batching;
};

// A warning for a server reachable from other machines without an API key ("" when it is not).
std::string exposure_warning(const ServerOptions& options);

// medvqa serve: the OpenAI-compatible chat API, /v1/answer and /v1/preview for the page, the page
// itself, /v1/models and /health, over one Answerer whose calls a Batcher groups. With an
// `explainer`, requests may ask for a heat map of where the model looked (without one they get 400).
class Server {
 public:
  Server(infer::Answerer& answerer, ServerOptions options, infer::Explainer* explainer = nullptr);
  ~Server();

  // Binds the socket (throws medvqa::Error naming host:port when it cannot) and returns the port.
  int bind();
  int port() const;
  // Serves until stop(); bind() first.
  void listen();
  // Stops accepting connections; requests already received are answered before listen() returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medvqa::serve
