// `medvqa train --nproc N`: local data-parallel workers launched by the executable itself train
// exactly as one process with N times the batch, and only rank 0 writes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "testing/testing.h"
#include "testing/tiny_training.h"

namespace medvqa {
namespace {

using testing::medvqa;

std::string write_config(const testing::TempDir& tmp, const std::string& name, int64_t batch) {
  auto j = testing::tiny_training(name, tmp.file(name), 48);
  j["max_steps"] = 3;
  j["batch_size"] = batch;
  std::string path = tmp.file(name + ".json");
  std::ofstream(path) << j.dump(2);
  return path;
}

std::vector<double> losses(const std::string& metrics) {
  std::vector<double> v;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return v;
}

TEST(TrainCli, TwoLocalWorkersMatchOneProcessWithTwiceTheBatch) {
  testing::TempDir tmp;
  auto one = medvqa("train --config " + write_config(tmp, "one", 8));
  ASSERT_EQ(one.status, 0) << one.output;
  auto two = medvqa("train --nproc 2 --config " + write_config(tmp, "two", 4));
  ASSERT_EQ(two.status, 0) << two.output;
  // One "finished" line: rank 0 alone reports and writes.
  EXPECT_EQ(two.output.find("finished at step 3"), two.output.rfind("finished at step 3")) << two.output;
  auto a = losses(tmp.file("one/metrics.jsonl")), b = losses(tmp.file("two/metrics.jsonl"));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * a[i]) << "step " << i + 1;
  EXPECT_TRUE(std::filesystem::exists(tmp.file("two/best/model.safetensors")));
}

TEST(TrainCli, AFailingWorkerFailsTheLaunchWithItsMessage) {
  testing::TempDir tmp;
  std::string config = write_config(tmp, "broken", 4);
  auto j = nlohmann::json::parse(std::ifstream(config));
  j["train"][0]["path"] = tmp.file("no-such-train.json");
  std::ofstream(config) << j.dump();
  auto r = medvqa("train --nproc 2 --config " + config);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no-such-train.json"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace medvqa
