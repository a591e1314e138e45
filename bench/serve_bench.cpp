// Serving under a bounded loopback load from the project's own client threads: requests/s and
// latency percentiles at 1, 8 and 32 concurrent clients, with and without dynamic batching; and a
// soak (group `soak`, run only when asked): 32 clients for at least 60 s and 10 000 requests over
// 100 distinct images, with the resident memory after 1 000 requests and at the end.
#include <httplib.h>
#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "bench/bench.h"
#include "image/image.h"
#include "infer/answerer.h"
#include "serve/server.h"

namespace medvqa::bench {
namespace {

struct Load {
  double requests_per_second = 0, p50 = 0, p95 = 0;
  double mean_batch = 0;  // requests per forward pass, from each answer's batch size
  int errors = 0;
  size_t requests = 0;
  double rss_mb_after_1k = 0, rss_mb_at_end = 0;
};

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * double(::sysconf(_SC_PAGESIZE)) / double(1 << 20);
}

// Clients send /v1/answer requests (image i + n of `pngs` for client i's n-th) until `seconds` have
// passed and `min_requests` have been answered.
Load run_load(infer::Answerer& answerer, int clients, size_t max_batch, double seconds,
              const std::vector<std::string>& pngs, size_t min_requests = 0) {
  serve::ServerOptions o;
  o.port = 0;
  o.batching.max_batch = max_batch;
  o.batching.max_wait = max_batch > 1 ? serve::Batcher::Options{}.max_wait : std::chrono::milliseconds(0);
  o.batching.capacity = 256;
  serve::Server server(answerer, o);
  const int port = server.bind();
  std::thread serving([&] { server.listen(); });
  std::mutex mutex;
  std::vector<double> latencies;
  double passes = 0;  // Σ 1/batch size over the answers: each pass counted once
  std::atomic<int> errors{0};
  std::atomic<size_t> answered{0};
  std::atomic<double> rss_after_1k{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto more = [&] { return std::chrono::steady_clock::now() < deadline || answered < min_requests; };
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(std::chrono::seconds(300));
      const char* questions[] = {"Is there a fracture?", "Which organ is abnormal?", "Is the lung normal?"};
      for (int n = 0; more(); ++n) {
        httplib::MultipartFormDataItems form = {{"image", pngs[size_t(i + n) % pngs.size()], "scan.png", "image/png"},
                                                {"question", questions[(i + n) % 3], "", ""}};
        auto t0 = std::chrono::steady_clock::now();
        auto r = client.Post("/v1/answer", form);
        double seconds_taken = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!r || r->status != 200) {
          if (errors++ == 0)
            std::cerr << "serve benchmark: first failed request: "
                      << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())) << "\n";
          continue;
        }
        const auto body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
        const auto* batch = body.is_object() && body.contains("timings") ? &body["timings"]["batch_size"] : nullptr;
        if (batch == nullptr || !batch->is_number() || batch->get<double>() < 1) {
          if (errors++ == 0) std::cerr << "serve benchmark: answer without timings.batch_size: " << r->body << "\n";
          continue;
        }
        if (++answered == 1000) rss_after_1k = resident_mb();
        std::lock_guard<std::mutex> lock(mutex);
        latencies.push_back(seconds_taken);
        passes += 1.0 / batch->get<double>();
      }
    });
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  server.stop();
  serving.join();
  Load load;
  load.errors = errors;
  load.requests = latencies.size();
  load.rss_mb_after_1k = rss_after_1k;
  load.rss_mb_at_end = resident_mb();
  if (latencies.empty()) return load;
  std::sort(latencies.begin(), latencies.end());
  load.requests_per_second = double(latencies.size()) / elapsed;
  load.mean_batch = double(latencies.size()) / passes;
  load.p50 = latencies[latencies.size() / 2];
  load.p95 = latencies[std::min(latencies.size() - 1, latencies.size() * 95 / 100)];
  return load;
}

void serving(const Context& ctx) {
  auto answerer = infer::Answerer::load(ctx.model_dir, ctx.dtype);
  auto encoded = image::encode_png(noise_image(256));
  const std::vector<std::string> png = {std::string(encoded.begin(), encoded.end())};
  double single = 0;
  for (int clients : {1, 8, 32}) {
    std::vector<std::pair<std::string, size_t>> modes = {{"batch1", 1}};
    if (clients > 1) modes.push_back({"batched", size_t(std::min(clients, 16))});
    double unbatched = 0;
    for (const auto& [mode, max_batch] : modes) {
      auto load = run_load(answerer, clients, max_batch, ctx.serve_seconds, png);
      const std::string name = "serve.clients" + std::to_string(clients) + "." + mode;
      if (clients == 1) single = load.requests_per_second;
      if (max_batch == 1) unbatched = load.requests_per_second;
      const bool vs_unbatched = max_batch > 1;
      ctx.add(ctx.rate(name, load.requests_per_second, "requests/s",
                       vs_unbatched ? "serve.clients" + std::to_string(clients) + ".batch1" : "serve.clients1.batch1",
                       vs_unbatched ? unbatched : single));
      ctx.add({name + ".p50.latency", load.p50 * 1e3, "ms", "", {}});
      ctx.add({name + ".p95.latency", load.p95 * 1e3, "ms", "", {}});
      ctx.add({name + ".errors", double(load.errors), "requests", "", {}});
      if (max_batch > 1) ctx.add({name + ".mean_batch", load.mean_batch, "requests", "", {}});
    }
  }
}

void soak(const Context& ctx) {
  auto answerer = infer::Answerer::load(ctx.model_dir, ctx.dtype);
  // More distinct images than the server's image cache holds (64), so that it keeps evicting.
  std::vector<std::string> pngs;
  for (int i = 0; i < 100; ++i) {
    auto encoded = image::encode_png(noise_image(256));  // each call draws new pixels
    pngs.emplace_back(encoded.begin(), encoded.end());
  }
  auto load = run_load(answerer, 32, 16, std::max(60.0, ctx.serve_seconds), pngs, 10'000);
  ctx.add({"serve.soak.requests", double(load.requests), "requests", "", {}});
  ctx.add({"serve.soak.errors", double(load.errors), "requests", "", {}});
  ctx.add({"serve.soak.requests_per_second", load.requests_per_second, "requests/s", "", {}});
  ctx.add({"serve.soak.p50.latency", load.p50 * 1e3, "ms", "", {}});
  ctx.add({"serve.soak.p95.latency", load.p95 * 1e3, "ms", "", {}});
  ctx.add({"serve.soak.rss_after_1k", load.rss_mb_after_1k, "MB", "", {}});
  // Ratio to the resident memory after 1 000 requests: 1.0 is no growth.
  ctx.add(ctx.rate("serve.soak.rss_at_end", load.rss_mb_at_end, "MB", "serve.soak.rss_after_1k", load.rss_mb_after_1k));
}

}  // namespace

std::vector<Benchmark> serve_benchmarks() { return {{"serve", serving}, {"soak", soak}}; }

}  // namespace medvqa::bench
