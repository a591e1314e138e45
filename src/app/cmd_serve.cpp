#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "app/commands.h"
#include "app/model_options.h"
#include "infer/answerer.h"
#include "infer/heatmap.h"
#include "serve/server.h"

namespace medvqa::app {

Command add_serve(CLI::App& root) {
  struct Options {
    std::string model, web;
    ModelOptions model_options;
    serve::ServerOptions server;
    int64_t max_wait_ms = 10;
    double request_timeout_s = 30;
    int threads = 0;
    bool no_heatmaps = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("serve",
                                  "Serve the model over HTTP: an OpenAI-compatible /v1/chat/completions, /v1/answer "
                                  "for image uploads (JPEG, PNG, DICOM), and a web page at /");
  cmd->add_option("--model", o->model, "Model directory (default: the shipped models/medvqa-small)");
  cmd->add_option("--host", o->server.host, "Address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option("--port", o->server.port, "Port (default 8080; 0 picks a free one)")->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o->server.api_key, "Require 'Authorization: Bearer KEY' on /v1/ endpoints");
  cmd->add_option("--max-batch", o->server.batching.max_batch,
                  "Requests answered together in one forward pass (1: no batching; default 8)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-wait-ms", o->max_wait_ms, "How long a request may wait for others to batch with (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--queue", o->server.batching.capacity, "Waiting requests before 503 (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--request-timeout", o->request_timeout_s,
                  "Seconds a client may take to send a request, or stay idle between requests, before it is "
                  "disconnected (default 30; the answer's own time does not count)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-body-bytes", o->server.max_body_bytes, "Largest request body in bytes (default 32 MiB)");
  cmd->add_option("--max-pixels", o->server.max_pixels, "Largest image in pixels (default 40 million)");
  cmd->add_flag("--no-heatmaps", o->no_heatmaps,
               "Refuse heat map requests, and do not load the second, unpacked copy of the model they need");
  cmd->add_option("--image-cache", o->server.image_cache_entries,
                  "Encodings of recent images kept, by content, so that a follow-up question about one skips the "
                  "vision tower and the Q-Former (default 64, about 16 KB each for the shipped model; 0: none)");
  cmd->add_option("--web", o->web, "The web page's folder (default: the project's web/)");
  add_model_options(cmd, o->model_options);
  cmd->add_option("--threads", o->threads, "CPU threads for the model (default: all cores)");
  return {cmd, [o]() {
    // SIGTERM and SIGINT go to one thread that stops the server; every other thread (HTTP
    // workers, the batcher, libtorch's pool) inherits the blocked mask from here.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    set_threads(o->threads);
    const std::string dir = o->model.empty() ? default_model_dir() : o->model;
    auto answerer = load_answerer(dir, o->model_options);
    auto options = o->server;
    options.batching.max_wait = std::chrono::milliseconds(o->max_wait_ms);
    options.request_timeout = std::chrono::milliseconds(int64_t(o->request_timeout_s * 1000));
    options.web_dir = o->web.empty() ? default_web_dir() : o->web;
    options.model_id = std::filesystem::path(dir).lexically_normal().filename().string();
    if (options.model_id.empty()) options.model_id = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
    std::unique_ptr<infer::Explainer> explainer;
    if (!o->no_heatmaps) explainer = std::make_unique<infer::Explainer>(answerer);
    serve::Server server(answerer, options, explainer.get());
    const int port = server.bind();
    if (auto warning = serve::exposure_warning(options); !warning.empty()) std::cerr << warning << "\n";
    std::cerr << "medvqa serve: model " << options.model_id << " on http://" << options.host << ":" << port
              << "/ (max batch " << options.batching.max_batch << ", max wait " << o->max_wait_ms << " ms)\n"
              << infer::kResearchNotice << "\n";
    std::thread stopper([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      std::cerr << "medvqa serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                << ", finishing requests in flight\n";
      server.stop();
    });
    server.listen();
    // listen() also returns on errors; wake the stopper so it can be joined.
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    std::cerr << "medvqa serve: stopped\n";
    return 0;
  }};
}

}  // namespace medvqa::app
