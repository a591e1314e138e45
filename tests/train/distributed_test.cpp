// Data-parallel training: the c10d collectives, and the promise that N ranks with batch b train
// exactly as one process with batch N·b (ranks run as threads here, each with its own
// process group over loopback, as separate processes would).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include "io/error.h"
#include "testing/testing.h"
#include "testing/tiny_training.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace medvqa::train {
namespace {

// Runs fn(rank, communicator) on `world` threads that share one rendezvous.
void on_ranks(int world, const std::function<void(int, std::shared_ptr<Communicator>)>& fn) {
  const int port = find_free_port();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        DistributedEnv env;
        env.rank = r;
        env.world_size = world;
        env.master_port = port;
        fn(r, std::make_shared<Communicator>(env, std::chrono::seconds(120)));
      } catch (const std::exception& e) {
        errors[size_t(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[size_t(r)], "") << "rank " << r;
}

TEST(Communicator, BucketedAllReduceSumsEveryTensorAcrossRanks) {
  std::vector<std::vector<torch::Tensor>> results(2);
  on_ranks(2, [&](int rank, std::shared_ptr<Communicator> c) {
    // Mixed dtypes and a 64-byte bucket limit: several buckets, one tensor larger than a bucket.
    std::vector<torch::Tensor> t = {torch::full({3, 4}, 1.0 + rank), torch::arange(5, torch::kFloat32) * (rank + 1),
                                    torch::full({2}, 10 * (rank + 1), torch::kInt64), torch::ones({40}) * rank};
    c->all_reduce_sum(t, /*bucket_bytes=*/64);
    EXPECT_DOUBLE_EQ(c->all_reduce_sum(0.5 + rank), 2.0);
    results[size_t(rank)] = t;
  });
  for (const auto& t : results) {
    ASSERT_EQ(t.size(), 4u);
    EXPECT_TRUE(torch::equal(t[0], torch::full({3, 4}, 3.0)));
    EXPECT_TRUE(torch::equal(t[1], torch::arange(5, torch::kFloat32) * 3));
    EXPECT_TRUE(torch::equal(t[2], torch::full({2}, 30, torch::kInt64)));
    EXPECT_TRUE(torch::equal(t[3], torch::ones({40})));
  }
}

TEST(Communicator, BroadcastCopiesRankZerosValues) {
  std::vector<torch::Tensor> results(2);
  on_ranks(2, [&](int rank, std::shared_ptr<Communicator> c) {
    auto t = torch::full({2, 3}, double(rank + 7)).t();  // not contiguous
    c->broadcast({t});
    results[size_t(rank)] = t;
  });
  for (const auto& t : results) EXPECT_TRUE(torch::equal(t, torch::full({3, 2}, 7.0)));
}

TEST(DistributedEnv, ReadsTorchrunVariablesAndRejectsBadOnes) {
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.5", 1);
  setenv("MASTER_PORT", "1234", 1);
  unsetenv("LOCAL_RANK");
  auto e = DistributedEnv::from_environment();
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.master_addr, "10.0.0.5");
  EXPECT_EQ(e.master_port, 1234);
  setenv("RANK", "4", 1);
  EXPECT_THROW(DistributedEnv::from_environment(), Error);
  setenv("RANK", "two", 1);
  EXPECT_THROW(DistributedEnv::from_environment(), Error);
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(v);
  EXPECT_EQ(DistributedEnv::from_environment().world_size, 1);
}

TrainConfig config(const std::string& out, int64_t batch, int64_t accum) {
  auto j = testing::tiny_training("ddp-test", out, 64);
  j.update({{"max_steps", 4}, {"batch_size", batch}, {"grad_accum", accum}, {"color_jitter", 0.1}});
  return TrainConfig::from_json(j, "");
}

using Parameters = std::vector<std::pair<std::string, torch::Tensor>>;

Parameters parameters_of(Trainer& t) {
  Parameters p;
  for (const auto& kv : t.model()->named_parameters()) p.emplace_back(kv.key(), kv.value().detach().clone());
  return p;
}

Parameters parameters_after(Trainer& t) {
  t.run(false);
  return parameters_of(t);
}

// The equalities below would also hold for steps that change nothing: the parameters must move.
void expect_moved(const Parameters& before, const Parameters& after) {
  ASSERT_EQ(before.size(), after.size());
  size_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += !torch::equal(before[i].second, after[i].second);
  EXPECT_GE(double(moved), 0.9 * double(before.size())) << moved << " of " << before.size() << " tensors moved";
}

void expect_same(const Parameters& a, const Parameters& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(testing::all_close(b[i].second, a[i].second, 2e-5, 1e-4, a[i].first));
}

TEST(DataParallel, TwoRanksWithBatchBEqualOneRankWithBatch2B) {
  testing::TempDir one_dir, two_dir;
  Trainer one(config(one_dir.path(), 8, 1), false);
  const auto initial = parameters_of(one);
  auto reference = parameters_after(one);
  expect_moved(initial, reference);
  std::vector<Parameters> ranks(2);
  on_ranks(2, [&](int rank, std::shared_ptr<Communicator> c) {
    Trainer t(config(two_dir.path(), 4, 1), false, c);
    ranks[size_t(rank)] = parameters_after(t);
  });
  expect_same(reference, ranks[0]);
  expect_same(reference, ranks[1]);
  // Only rank 0 wrote: one metrics line per step, and the final checkpoint.
  std::ifstream metrics(two_dir.file("metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 4);
  EXPECT_TRUE(std::filesystem::exists(two_dir.file("checkpoint/trainer_state.json")));
}

TEST(DataParallel, GradientAccumulationEqualsTheLargerBatch) {
  testing::TempDir a_dir, b_dir;
  Trainer whole(config(a_dir.path(), 8, 1), false), accumulated(config(b_dir.path(), 4, 2), false);
  const auto initial = parameters_of(whole);
  const auto reference = parameters_after(whole);
  expect_moved(initial, reference);
  expect_same(reference, parameters_after(accumulated));
}

}  // namespace
}  // namespace medvqa::train
