#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <sstream>

#include "bench/bench.h"
#include "kernels/read_bandwidth.h"

namespace medvqa::bench {

nlohmann::json Row::to_json() const {
  nlohmann::json j = {{"name", name}, {"value", value}, {"unit", unit}};
  if (baseline) {
    j["baseline_name"] = baseline_name;
    j["baseline"] = *baseline;
    j["ratio"] = *baseline > 0 ? value / *baseline : 0.0;
  }
  return j;
}

void Context::add(Row row) const { rows->push_back(std::move(row)); }

void Context::profile(const std::string& name, const std::function<void()>& fn) const {
  if (profile_dir.empty()) return;
  torch::autograd::profiler::RecordProfile trace(profile_dir + "/" + name + ".trace.json");
  fn();
}

Timing measure(const std::function<void()>& fn, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

ReadStream::ReadStream() : buffer(torch::ones({int64_t(512) << 20}, torch::kUInt8)) {}

double ReadStream::gbs() const { return kernels::streaming_read_rate(buffer.data_ptr<uint8_t>(), buffer.numel()) / 1e9; }

Baselines measure_baselines(int repeats) {
  torch::NoGradGuard no_grad;
  Baselines b;
  ReadStream stream;
  for (int i = 0; i < repeats + 1; ++i) b.read_gbs = std::max(b.read_gbs, stream.gbs());
  const int64_t n = 2048;
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    auto x = torch::randn({n, n}).to(dtype), y = torch::randn({n, n}).to(dtype);
    auto t = measure([&] { (void)torch::mm(x, y); }, 1, repeats);
    (dtype == torch::kBFloat16 ? b.bf16_gflops : b.fp32_gflops) = 2.0 * double(n * n * n) / t.min / 1e9;
  }
  return b;
}

Baselines higher(const Baselines& a, const Baselines& b) {
  return {std::max(a.read_gbs, b.read_gbs), std::max(a.bf16_gflops, b.bf16_gflops),
          std::max(a.fp32_gflops, b.fp32_gflops)};
}

void add_machine_baselines(std::vector<Row>& rows, const Baselines& base) {
  const std::vector<Row> machine = {{"machine.read_bandwidth", base.read_gbs, "GB/s", "", {}},
                                    {"machine.gemm_bf16", base.bf16_gflops, "GFLOP/s", "", {}},
                                    {"machine.gemm_fp32", base.fp32_gflops, "GFLOP/s", "", {}}};
  for (auto& r : rows)
    for (const auto& m : machine)
      if (r.baseline_name == m.name.substr(std::string("machine.").size())) r.baseline = m.value;
  rows.insert(rows.begin(), machine.begin(), machine.end());
}

image::Image noise_image(int side) {
  image::Image img;
  img.width = img.height = side;
  img.channels = 1;
  auto t = torch::randint(0, 256, {int64_t(side) * side}, torch::kUInt8);
  img.pixels.assign(t.data_ptr<uint8_t>(), t.data_ptr<uint8_t>() + t.numel());
  return img;
}

std::string format_table(const std::vector<Row>& rows) {
  std::ostringstream out;
  out << std::left << std::setw(40) << "benchmark" << std::right << std::setw(12) << "value" << "  " << std::left
      << std::setw(11) << "unit" << std::setw(34) << "baseline" << std::right << std::setw(8) << "ratio" << "\n";
  for (const auto& r : rows) {
    out << std::left << std::setw(40) << r.name << std::right << std::setw(12) << std::fixed << std::setprecision(2)
        << r.value << "  " << std::left << std::setw(11) << r.unit;
    if (r.baseline) {
      std::ostringstream base;
      base << r.baseline_name << " " << std::fixed << std::setprecision(1) << *r.baseline;
      out << std::setw(34) << base.str() << std::right << std::setw(8) << std::setprecision(3)
          << (*r.baseline > 0 ? r.value / *r.baseline : 0.0);
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace medvqa::bench
