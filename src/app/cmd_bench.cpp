#include <torch/torch.h>

#include <iostream>

#include "app/commands.h"
#include "bench/bench.h"
#include "io/atomic_file.h"
#include "kernels/linear_kernel.h"

namespace medvqa::app {

Command add_bench(CLI::App& root) {
  struct Options {
    std::string only, out, model, dtype = "auto", profile;
    int repeats = 5, threads = 2;
    double serve_seconds = 10;
    bool json = false, kernels = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("bench",
                                  "Benchmark suite at real shapes with random weights: decode/prefill, ViT, Q-Former, "
                                  "whole answers, training steps, serving. Each rate comes with a same-run baseline "
                                  "(read bandwidth, GEMM rate, or another configuration) and their ratio");
  cmd->add_option("--only", o->only, "Run only benchmarks whose name contains this (e.g. decode, vit, serve; soak, the serving soak, runs only when named)");
  cmd->add_option("--repeats", o->repeats, "Timed repeats after a warm-up (min is reported)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads, "CPU threads (default 2)")->check(CLI::PositiveNumber);
  cmd->add_option("--serve-seconds", o->serve_seconds, "Duration of each serving load (default 10)");
  cmd->add_option("--model", o->model, "Model for the answer and serving benchmarks (default: the shipped one)");
  cmd->add_option("--dtype", o->dtype, "Model compute dtype: auto (the faster GEMM of this machine), bfloat16, float32")
      ->check(CLI::IsMember({"auto", "bfloat16", "float32"}));
  cmd->add_option("--profile", o->profile, "Write chrome traces (per-op times) of the decode, prefill, ViT and Q-Former benchmarks into this folder")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", o->json, "Print the rows as a JSON array after the table");
  cmd->add_flag("--kernels", o->kernels, "Print which kernel computes each linear layer's product on this CPU (by input "
                                         "dtype, weight storage and row count) and exit");
  cmd->add_option("--out", o->out, "Also write the JSON rows to this file (atomically)");
  return {cmd, [o]() {
    if (o->kernels) {
      std::cout << kernels::linear_kernel_table();
      return 0;
    }
    torch::set_num_threads(o->threads);
    std::vector<bench::Row> rows;
    bench::Context ctx;
    ctx.repeats = o->repeats;
    ctx.serve_seconds = o->serve_seconds;
    ctx.model_dir = o->model.empty() ? default_model_dir() : o->model;
    ctx.only = o->only;
    ctx.profile_dir = o->profile;
    ctx.rows = &rows;
    ctx.base = bench::measure_baselines(o->repeats);
    const bool bf16 = o->dtype == "auto" ? ctx.base.bf16_gflops > ctx.base.fp32_gflops : o->dtype == "bfloat16";
    ctx.dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
    std::cerr << "model benchmarks in " << ctx.dtype_name() << " (GEMM: bf16 " << ctx.base.bf16_gflops << ", fp32 "
              << ctx.base.fp32_gflops << " GFLOP/s)\n";
    std::vector<bench::Benchmark> all = bench::model_benchmarks();
    for (auto group : {bench::train_benchmarks(), bench::serve_benchmarks()}) all.insert(all.end(), group.begin(), group.end());
    for (const auto& b : all) {
      // "decode" also runs prefill (one model build); --only matches the group or its rows.
      if (!ctx.wanted(b.name) && !(b.name == "decode" && o->only.find("prefill") != std::string::npos)) continue;
      // The soak runs for minutes: only when asked for.
      if (b.name == "soak" && o->only.empty()) continue;
      std::cerr << "running " << b.name << "...\n";
      b.run(ctx);
    }
    bench::add_machine_baselines(rows, bench::higher(ctx.base, bench::measure_baselines(o->repeats)));
    std::cout << bench::format_table(rows);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) j.push_back(r.to_json());
    if (o->json) std::cout << j.dump(2) << "\n";
    if (!o->out.empty()) io::write_file_atomically(o->out, j.dump(2) + "\n");
    return 0;
  }};
}

}  // namespace medvqa::app
