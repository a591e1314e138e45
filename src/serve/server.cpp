#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <sstream>

#include "data/closed.h"
#include "image/preprocess.h"
#include "io/json_text.h"
#include "serve/connection_limits.h"
#include "serve/openai.h"

namespace medvqa::serve {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(io::json_text(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& param = "",
                const std::string& code = "") {
  const char* type = status == 401 ? "authentication_error"
                     : status == 503 ? "server_busy"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  send_json(res, status, error_body(message, type, param, code));
}

std::string form_field(const httplib::Request& req, const std::string& name) {
  return req.has_file(name) ? req.get_file_value(name).content : std::string();
}

std::optional<double> number_field(const httplib::Request& req, const std::string& name) {
  std::string v = form_field(req, name);
  if (v.empty()) return std::nullopt;
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw RequestError(400, "'" + name + "' must be a number, got '" + v + "'", name);
  }
}

// Window and frame from a /v1/answer or /v1/preview form.
image::DecodeOptions decode_options(const httplib::Request& req, uint64_t max_pixels) {
  image::DecodeOptions o;
  o.max_pixels = max_pixels;
  try {
    o.window = image::choose_window(form_field(req, "window"), number_field(req, "window_center"),
                                    number_field(req, "window_width"));
  } catch (const RequestError&) {
    throw;
  } catch (const Error& e) {
    throw RequestError(400, e.what(), "window");
  }
  if (auto frame = number_field(req, "frame")) {
    if (*frame < 0 || *frame != double(int(*frame))) throw RequestError(400, "'frame' must be a whole number >= 0", "frame");
    o.frame = int(*frame);
  }
  return o;
}

image::Image decode_upload(const std::string& bytes, const image::DecodeOptions& options) {
  try {
    return image::decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "the uploaded image",
                               options);
  } catch (const Error& e) {
    throw RequestError(400, e.what(), "image", "invalid_image");
  }
}

json timings_json(const Batcher::Result& r, Clock::time_point start) {
  return {{"total_ms", ms_since(start)},
          {"queue_ms", r.queue_seconds * 1e3},
          {"image_ms", r.answer.image_seconds * 1e3},
          {"image_cached", r.answer.image_cached},
          {"generate_ms", r.answer.generate_seconds * 1e3},
          {"batch_size", r.batch_size}};
}

// How sure the model is, and whether the answer was withheld for it (medvqa's fields of both endpoints).
json confidence_fields(const infer::Answer& a) {
  json j = {{"confidence", a.confidence}, {"uncertain", a.uncertain}};
  if (a.uncertain) j["withheld_answer"] = a.withheld_answer;
  return j;
}

json probabilities_json(const infer::Answer& a) {
  json p = json::array();
  for (const auto& [answer, probability] : a.closed_probabilities) p.push_back({{"answer", answer}, {"probability", probability}});
  return p;
}

std::string completion_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  std::ostringstream s;
  s << "chatcmpl-" << std::hex << salt << std::dec << "-" << ++counter;
  return s.str();
}

}  // namespace

struct Server::Impl {
  infer::Answerer& answerer;
  infer::Explainer* explainer;
  ServerOptions options;
  ConnectionLimits limits;
  httplib::Server http;
  Batcher batcher;
  int port = -1;
  int listen_socket = -1;

  Impl(infer::Answerer& a, ServerOptions o, infer::Explainer* e)
      : answerer(a),
        explainer(e),
        options(std::move(o)),
        limits(options.request_timeout, options.max_header_bytes),
        batcher([this](const std::vector<image::Image>& images, const std::vector<std::string>& questions,
                       const std::vector<std::vector<infer::Turn>>& histories, const infer::AnswerOptions& ao,
                       const std::vector<infer::TextSink>& sinks) {
                  return answerer.answer(images, questions, ao, histories, sinks);
                },
                options.batching) {}

  // Checks everything a request can get wrong before it takes a place in the queue.
  std::future<Batcher::Result> submit(image::Image image, const std::string& question, const infer::AnswerOptions& ao,
                                      std::vector<infer::Turn> history = {}, infer::TextSink sink = {}) {
    try {
      answerer.prompt(question, history);
    } catch (const Error& e) {
      throw RequestError(400, e.what(), history.empty() ? "question" : "messages", "invalid_question");
    }
    return batcher.submit(std::move(image), question, ao, std::move(history), std::move(sink));
  }
  Batcher::Result answer(image::Image image, const std::string& question, const infer::AnswerOptions& ao,
                         std::vector<infer::Turn> history = {}) {
    return submit(std::move(image), question, ao, std::move(history)).get();
  }

  // The heat map method a request asks for ("" or absent: none), checked before any work is done.
  std::optional<infer::HeatmapMethod> heatmap_method(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (!explainer) throw RequestError(400, "this server was started with --no-heatmaps", "heatmap");
    try {
      return infer::parse_heatmap_method(name);
    } catch (const Error& e) {
      throw RequestError(400, e.what(), "heatmap");
    }
  }

  // Where the model looked for the answer it gave (or withheld); null for an empty answer.
  json heatmap_json(const image::Image& image, const std::string& question, const infer::Answer& a,
                    infer::HeatmapMethod method) {
    auto h = explainer->explain_answer(image, question, a, method);
    return h ? infer::to_json(*h) : json(nullptr);
  }

  void handle_answer(const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    if (!req.is_multipart_form_data())
      throw RequestError(400, "send multipart/form-data with an 'image' file and a 'question'");
    if (!req.has_file("image")) throw RequestError(400, "'image' (a JPEG, PNG or DICOM file) is required", "image");
    if (!req.has_file("question")) throw RequestError(400, "'question' is required", "question");
    auto image = decode_upload(req.get_file_value("image").content, decode_options(req, options.max_pixels));
    const std::string question = form_field(req, "question");
    const auto method = heatmap_method(form_field(req, "heatmap"));
    infer::AnswerOptions ao;
    ao.rank_closed = form_field(req, "rank_closed") == "true";
    if (auto m = number_field(req, "min_confidence")) {
      if (!(*m >= 0 && *m <= 1)) throw RequestError(400, "'min_confidence' must be between 0 and 1", "min_confidence");
      ao.min_confidence = *m;
    }
    auto r = answer(method ? image : std::move(image), question, ao);
    json body = {{"answer", r.answer.text},
                 {"question", question},
                 {"closed", !r.answer.closed_probabilities.empty()},
                 {"closed_probabilities", probabilities_json(r.answer)},
                 {"generated", r.answer.generated},
                 {"timings", timings_json(r, start)},
                 {"usage", {{"prompt_tokens", r.answer.prompt_tokens}, {"completion_tokens", r.answer.completion_tokens}}},
                 {"model", options.model_id},
                 {"notice", infer::kResearchNotice}};
    body.update(confidence_fields(r.answer));
    if (method) body["heatmap"] = heatmap_json(image, question, r.answer, *method);
    send_json(res, 200, body);
  }

  void handle_preview(const httplib::Request& req, httplib::Response& res) {
    if (!req.is_multipart_form_data() || !req.has_file("image"))
      throw RequestError(400, "send multipart/form-data with an 'image' file", "image");
    auto image = image::to_rgb(decode_upload(req.get_file_value("image").content, decode_options(req, options.max_pixels)));
    // A preview is for the eye: large scans are shrunk so the page stays responsive.
    constexpr int kPreviewSide = 768;
    if (std::min(image.width, image.height) > kPreviewSide) image = image::resize_shortest_side(image, kPreviewSide);
    auto png = image::encode_png(image);
    res.set_content(reinterpret_cast<const char*>(png.data()), png.size(), "image/png");
  }

  void handle_chat(const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    std::string type = req.get_header_value("Content-Type");
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (type.rfind("application/json", 0) != 0)
      throw RequestError(415, "send the request as JSON with 'Content-Type: application/json'" +
                                  (type.empty() ? std::string(" (no Content-Type)") : ", not '" + type + "'"));
    auto chat = std::make_shared<ChatRequest>(read_chat_request(req.body, options.max_tokens_limit));
    const auto method = heatmap_method(chat->heatmap);
    image::DecodeOptions decode;
    decode.max_pixels = options.max_pixels;
    auto image = decode_upload(std::string(chat->image.begin(), chat->image.end()), decode);
    infer::AnswerOptions ao;
    ao.max_new_tokens = chat->max_tokens;
    ao.temperature = chat->temperature;
    ao.min_confidence = chat->min_confidence;
    auto c = std::make_shared<Completion>();
    c->id = completion_id();
    c->model = options.model_id;
    c->created = int64_t(std::time(nullptr));
    res.set_header("Cache-Control", "no-cache");
    // Withholding an answer needs its whole confidence, so such a stream starts once it is known.
    if (chat->stream && ao.min_confidence == 0) {
      stream_chat(res, chat, c, std::move(image), ao, method, start);
      return;
    }
    auto r = answer(method ? image : std::move(image), chat->question, ao, chat->history);
    complete(*c, std::move(r), *chat, method ? &image : nullptr, method, start);
    if (!chat->stream) {
      send_json(res, 200, completion_json(*c));
      return;
    }
    auto events = std::make_shared<std::vector<std::string>>(
        completion_events(*c, infer::stream_pieces(answerer.tokenizer(), c->answer.text)));
    res.set_chunked_content_provider("text/event-stream", [events](size_t, httplib::DataSink& sink) {
      for (const auto& e : *events)
        if (!sink.write(e.data(), e.size())) return false;
      sink.done();
      return true;
    });
  }

  // The completion's answer, whether it was cut by max_tokens, and medvqa's fields.
  void complete(Completion& c, Batcher::Result r, const ChatRequest& chat, const image::Image* image,
                std::optional<infer::HeatmapMethod> method, Clock::time_point start) {
    const int64_t limit = chat.max_tokens > 0 ? chat.max_tokens : answerer.model()->config.max_new_tokens;
    c.truncated = r.answer.completion_tokens >= limit;
    json medvqa = {{"closed_probabilities", probabilities_json(r.answer)}, {"timings", timings_json(r, start)}};
    medvqa.update(confidence_fields(r.answer));
    if (method) medvqa["heatmap"] = heatmap_json(*image, chat.question, r.answer, *method);
    c.extra = {{"notice", infer::kResearchNotice}, {"medvqa", medvqa}};
    c.answer = std::move(r.answer);
  }

  // Events go out while the batch generates the answer: the role at once, each piece of text as
  // its token is chosen, then the finish reason with usage and medvqa's fields.
  void stream_chat(httplib::Response& res, std::shared_ptr<ChatRequest> chat, std::shared_ptr<Completion> c,
                   image::Image image, const infer::AnswerOptions& ao, std::optional<infer::HeatmapMethod> method,
                   Clock::time_point start) {
    struct Pieces {
      std::mutex mutex;
      std::condition_variable arrived;
      std::deque<std::string> queue;
    };
    auto pieces = std::make_shared<Pieces>();
    auto kept = method ? std::make_shared<image::Image>(image) : nullptr;
    auto result = std::make_shared<std::future<Batcher::Result>>(
        submit(std::move(image), chat->question, ao, chat->history, [pieces](const std::string& piece) {
          {
            std::lock_guard<std::mutex> lock(pieces->mutex);
            pieces->queue.push_back(piece);
          }
          pieces->arrived.notify_one();
        }));
    res.set_chunked_content_provider("text/event-stream", [this, pieces, result, chat, c, kept, method, start](
                                                              size_t, httplib::DataSink& sink) {
      auto write = [&](const std::string& e) { return sink.write(e.data(), e.size()); };
      auto take = [&] {
        std::unique_lock<std::mutex> lock(pieces->mutex);
        pieces->arrived.wait_for(lock, std::chrono::milliseconds(20), [&] { return !pieces->queue.empty(); });
        std::deque<std::string> taken;
        taken.swap(pieces->queue);
        return taken;
      };
      if (!write(stream_start_event(*c))) return false;
      for (bool done = false; !done;) {
        // Every piece is queued before the result is set: after seeing it, one more take gets the last.
        done = result->wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        for (const auto& piece : take())
          if (!write(stream_piece_event(*c, piece))) return false;
      }
      try {
        complete(*c, result->get(), *chat, kept.get(), method, start);
        write(stream_end_events(*c));
      } catch (const std::exception& e) {
        write(stream_error_events(std::string("the answer failed: ") + e.what()));
      }
      sink.done();
      return true;
    });
  }

  // Runs a handler, turning what it throws into OpenAI-style JSON errors.
  httplib::Server::Handler guarded(void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      // The request is in: computing its answer has no deadline.
      limits.handler_began();
      struct Ended {
        ConnectionLimits& l;
        ~Ended() { l.handler_ended(); }
      } ended{limits};
      try {
        (this->*handler)(req, res);
      } catch (const RequestError& e) {
        send_error(res, e.status, e.what(), e.param, e.code);
      } catch (const QueueFull& e) {
        res.set_header("Retry-After", "1");
        send_error(res, 503, e.what(), "", "queue_full");
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      }
    };
  }

  void routes() {
    http.new_task_queue = [this] { return limits.task_queue(size_t(std::max(1, options.http_threads)), port); };
    http.set_payload_max_length(options.max_body_bytes);
    // httplib closes a keep-alive connection after 5 requests by default; a client that sends
    // its next request in that moment reads a closed socket. Long-lived connections avoid it; the
    // request timeout ends an idle one (httplib's own limit is set beyond it: ConnectionLimits
    // must be the one that cuts).
    http.set_keep_alive_max_count(10000);
    http.set_keep_alive_timeout(2 * std::chrono::ceil<std::chrono::seconds>(options.request_timeout).count() + 5);
    http.set_logger([this](const httplib::Request&, const httplib::Response&) { limits.response_sent(); });
    // httplib listens with a backlog of 5: a burst of new clients overflows it and some see their
    // connection reset or wait a second for SYN retransmission. Keep the socket to widen it after
    // bind. SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server share the port.
    http.set_socket_options([this](int fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_socket = fd;
    });
    // Runs once a request's headers are read, before its body: a request without the key costs no
    // body read and no decoding.
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      limits.headers_read();
      // Both refusals leave the body unread, so the connection closes after the answer.
      auto refuse = [&](int status, const std::string& message, const std::string& code) {
        send_error(res, status, message, "", code);
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      };
      // httplib would read (and drop) a too-large body before its 413: refuse it from its length
      // (one too large for 64 bits included; a malformed one is httplib's 400).
      const std::string length = req.get_header_value("Content-Length");
      uint64_t declared = 0;
      const auto parsed = std::from_chars(length.data(), length.data() + length.size(), declared);
      if (parsed.ec == std::errc::result_out_of_range || (parsed.ec == std::errc() && declared > options.max_body_bytes))
        return refuse(413, "request body larger than " + std::to_string(options.max_body_bytes) + " bytes", "");
      if (options.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + options.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      return refuse(401, "missing or wrong API key (send Authorization: Bearer <key>)", "invalid_api_key");
    });
    // Statuses httplib sets itself (413 for an oversized body, 404, 400 for a bad request line)
    // get a JSON body too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string message = res.status == 413   ? "request body larger than " + std::to_string(options.max_body_bytes) + " bytes"
                            : res.status == 404 ? "no such endpoint or file: " + req.path
                                                : "HTTP error " + std::to_string(res.status);
      send_error(res, res.status, message);
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}, {"model", options.model_id}, {"queued", batcher.queued()}});
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200,
                {{"object", "list"},
                 {"data", {{{"id", options.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "medvqa"}}}}});
    });
    http.Post("/v1/chat/completions", guarded(&Impl::handle_chat));
    http.Post("/v1/answer", guarded(&Impl::handle_answer));
    http.Post("/v1/preview", guarded(&Impl::handle_preview));
    if (!options.web_dir.empty() && !http.set_mount_point("/", options.web_dir))
      throw Error("web directory not found: " + options.web_dir);
  }
};

std::string exposure_warning(const ServerOptions& options) {
  const std::string& h = options.host;
  const bool loopback = h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
  if (loopback || !options.api_key.empty()) return "";
  return "warning: listening on " + h + " without --api-key: anyone who can reach this address can use the model "
         "(and its CPU); pass --api-key, or --host 127.0.0.1 behind a proxy that authenticates";
}

Server::Server(infer::Answerer& answerer, ServerOptions options, infer::Explainer* explainer)
    : impl_(std::make_unique<Impl>(answerer, std::move(options), explainer)) {
  answerer.set_image_cache(impl_->options.image_cache_entries);
  impl_->routes();
}

Server::~Server() = default;

int Server::bind() {
  const auto& o = impl_->options;
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl_->port <= 0)
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not an address of this machine)");
  if (impl_->listen_socket >= 0) ::listen(impl_->listen_socket, SOMAXCONN);
  return impl_->port;
}

int Server::port() const { return impl_->port; }

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() { impl_->http.stop(); }

}  // namespace medvqa::serve
