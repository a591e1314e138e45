#pragma once
// The benchmark suite (medvqa bench): each benchmark reports rows whose value is a rate and whose
// baseline is a rate measured in the same run (memory read bandwidth, GEMM throughput, another
// configuration), so that ratios stay meaningful on a shared, noisy machine.
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"

namespace medvqa::bench {

struct Row {
  std::string name;
  double value = 0;
  std::string unit;
  std::string baseline_name;       // empty for latency rows
  std::optional<double> baseline;  // same-run reference; ratio = value / baseline
  nlohmann::json to_json() const;
};

struct Timing {
  double min = 0, median = 0;  // seconds
};

// Runs fn `warmup` times untimed, then `repeats` times timed.
Timing measure(const std::function<void()>& fn, int warmup, int repeats);

// The machine's reference rates, measured first in every run.
struct Baselines {
  double read_gbs = 0;      // streaming read bandwidth, GB/s
  double bf16_gflops = 0;   // large bf16 GEMM (oneDNN)
  double fp32_gflops = 0;   // large fp32 GEMM (BLAS)
};

struct Context {
  Baselines base;
  // The compute dtype of the model benchmarks: bf16 where this machine's bf16 GEMM is the faster
  // one (AVX512-BF16 / AMX through oneDNN), else fp32 (libtorch 1.13's bf16 fallback without
  // AVX512 runs at a few GFLOP/s).
  torch::Dtype dtype = torch::kFloat32;
  std::string dtype_name() const { return dtype == torch::kBFloat16 ? "bf16" : "fp32"; }
  std::string gemm_name() const { return "gemm_" + dtype_name(); }
  double gemm_rate() const { return dtype == torch::kBFloat16 ? base.bf16_gflops : base.fp32_gflops; }
  int repeats = 5;
  double serve_seconds = 10;
  std::string model_dir;  // the shipped small model, for the answer and serving benchmarks
  std::string profile_dir;  // --profile: chrome traces (per-op times) of the model benchmarks
  std::string only;       // --only: benchmarks may skip configurations whose rows would not match
  bool wanted(const std::string& row) const {
    return only.empty() || row.find(only) != std::string::npos || only.find(row) != std::string::npos;
  }
  std::vector<Row>* rows;
  void add(Row row) const;
  Row rate(const std::string& name, double value, const std::string& unit, const std::string& baseline_name,
           double baseline) const {
    return {name, value, unit, baseline_name, baseline};
  }
  void latency(const std::string& name, double seconds) const { add({name + ".latency", seconds * 1e3, "ms", "", {}}); }
  // With --profile, runs fn once more under the profiler into <profile_dir>/<name>.trace.json.
  void profile(const std::string& name, const std::function<void()>& fn) const;
};

struct Benchmark {
  std::string name;  // group prefix matched by --only
  std::function<void(const Context&)> run;
};

// 512 MiB (far beyond any cache) to stream: gbs() is one read pass over all threads, in GB/s.
struct ReadStream {
  torch::Tensor buffer;
  ReadStream();
  double gbs() const;
};

Baselines measure_baselines(int repeats);
// On a shared machine a neighbour can depress one measurement of the baselines: the suite measures
// them before and after its benchmarks and keeps the higher of each (the machine's real peak).
Baselines higher(const Baselines& a, const Baselines& b);
// Puts the machine.* rows first and measures every row against `base` whose baseline is one of
// them (read_bandwidth, gemm_bf16, gemm_fp32).
void add_machine_baselines(std::vector<Row>& rows, const Baselines& base);
std::vector<Benchmark> model_benchmarks();  // decode, prefill, vit, qformer, answer
std::vector<Benchmark> train_benchmarks();  // training steps
std::vector<Benchmark> serve_benchmarks();  // HTTP serving under load

// A square 8-bit gray image of random pixels: an input for the answer and serving benchmarks
// that needs no dataset.
image::Image noise_image(int side);

// Rows as a fixed-width table.
std::string format_table(const std::vector<Row>& rows);

}  // namespace medvqa::bench
