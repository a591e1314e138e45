// `medvqa train` under the faults a run left alone for hours meets: SIGKILL at any moment (checkpoint
// writes included), a disk that fills up, a loss that diverges. Each ends either exactly as an
// uninterrupted run or with a clear error and a checkpoint that still resumes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "io/checkpoint.h"
#include "testing/testing.h"
#include "testing/tiny_training.h"

extern char** environ;

namespace medvqa {
namespace {

namespace fs = std::filesystem;
using testing::medvqa;

// A tiny model on real SLAKE rows, a checkpoint after every step and a validation every 8, so that
// most moments of a step are inside a checkpoint or best-model write.
std::string write_config(const testing::TempDir& tmp, const std::string& name, int64_t steps, double lr = 2e-3) {
  auto j = testing::tiny_training(name, tmp.file(name), 48);
  j.update({{"validation", {{{"format", "slake"}, {"path", testing::data_root() + "/slake/validate.json"}, {"limit", 8}}}},
            {"lr", lr},
            {"max_steps", steps},
            {"batch_size", 4},
            {"checkpoint_every", 1},
            {"eval_every", 8},
            {"log_every", 1}});
  std::string path = tmp.file(name + ".json");
  std::ofstream(path) << j.dump(2);
  return path;
}

std::vector<nlohmann::json> metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The metrics logs and the final checkpoints' parameters of two runs are the same.
void expect_same_run(const std::string& a, const std::string& b) {
  auto ma = metrics(a), mb = metrics(b);
  auto steps = [](const std::vector<nlohmann::json>& lines) {
    std::string out;
    for (const auto& l : lines) out += l["step"].dump() + (l.contains("loss") ? " " : "e ");
    return out;
  };
  ASSERT_EQ(ma.size(), mb.size()) << "metrics.jsonl lines, by step (e: an evaluation):\n"
                                  << steps(ma) << "\n" << steps(mb);
  for (size_t i = 0; i < ma.size(); ++i) {
    ASSERT_EQ(ma[i]["step"], mb[i]["step"]) << "line " << i;
    for (const char* key : {"loss", "eval_loss", "exact_match"}) {
      if (ma[i].contains(key)) {
        EXPECT_NEAR(ma[i][key].get<double>(), mb[i].at(key).get<double>(), 1e-6) << key << " at line " << i;
      }
    }
  }
  auto pa = io::load_checkpoint(a + "/checkpoint/model"), pb = io::load_checkpoint(b + "/checkpoint/model");
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [name, t] : pa) EXPECT_TRUE(testing::all_close(pb.at(name), t, 1e-6, 1e-5, name));
}

// `medvqa ARGS` started in the background with its output in `log`.
pid_t start_medvqa(const std::string& args, const std::string& log) {
  const std::string command = "exec " + testing::binary_path() + " " + args + " > " + log + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) return -1;
  return pid;
}

TEST(TrainFaults, KilledAtRandomMomentsAndResumedEachTimeItEndsAsAnUninterruptedRun) {
  testing::TempDir tmp;
  ASSERT_EQ(medvqa("train --config " + write_config(tmp, "straight", 24)).status, 0);
  const std::string config = write_config(tmp, "killed", 24), run = tmp.file("killed");
  std::mt19937 rng(20261203);
  int kills = 0, kills_mid_write = 0;
  bool finished = false;
  for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
    const std::string log = tmp.file("attempt-" + std::to_string(attempt) + ".log");
    pid_t pid = start_medvqa("train --resume --config " + config, log);
    ASSERT_GT(pid, 0);
    // Every other attempt dies as soon as a checkpoint is being written; the others at a random
    // moment up to two steps after training got going. The last attempts run to the end.
    const bool mid_write = attempt % 2 == 0;
    const auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 200'000)(rng));
    std::optional<std::chrono::steady_clock::time_point> training_since;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "attempt " << attempt << " hangs";
      if (kills >= 12) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (!training_since && fs::exists(log) && testing::read_file(log).find("\nstep ") != std::string::npos)
        training_since = std::chrono::steady_clock::now();
      const bool writing = fs::exists(run + "/checkpoint.tmp") || fs::exists(run + "/best.tmp");
      if (training_since && (mid_write ? writing : std::chrono::steady_clock::now() - *training_since >= delay)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ++kills;
        kills_mid_write += fs::exists(run + "/checkpoint.tmp") || fs::exists(run + "/best.tmp") ||
                           fs::exists(run + "/checkpoint.old");
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << testing::read_file(log);
      finished = true;
    }
  }
  ASSERT_TRUE(finished);
  std::cout << "killed " << kills << " times, " << kills_mid_write << " of them while a checkpoint was written\n";
  EXPECT_GE(kills, 12);
  EXPECT_GE(kills_mid_write, 3);
  expect_same_run(tmp.file("straight"), run);
}

// Training ends with an error naming the checkpoint when a checkpoint cannot be written (here: a
// file-size limit, as a full disk fails the write), and the previous checkpoint resumes the run.
TEST(TrainFaults, ACheckpointWriteThatFailsStopsTheRunAndKeepsThePreviousCheckpoint) {
  testing::TempDir tmp;
  ASSERT_EQ(medvqa("train --config " + write_config(tmp, "straight", 6)).status, 0);
  const std::string config = write_config(tmp, "full", 6), run = tmp.file("full");
  // A run that writes its first checkpoints, then stops (as if it had been killed).
  pid_t pid = start_medvqa("train --config " + config, tmp.file("first.log"));
  while (!fs::exists(run + "/checkpoint/trainer_state.json")) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // (Killed between the two renames of a later write, the checkpoint is checkpoint.old.)
  const std::string previous = fs::exists(run + "/checkpoint") ? run + "/checkpoint" : run + "/checkpoint.old";
  const int64_t step = nlohmann::json::parse(testing::read_file(previous + "/trainer_state.json"))["step"];
  // Files may not grow past 64 KiB: the model fits no more, and SIGXFSZ is ignored so the write
  // fails with EFBIG as it fails with ENOSPC on a full disk.
  auto r = testing::run_shell("trap '' XFSZ; ulimit -f 128; exec " + testing::binary_path() +
                              " train --resume --config " + config + " 2>&1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(run + "/checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(nlohmann::json::parse(testing::read_file(previous + "/trainer_state.json"))["step"], step)
      << "the previous checkpoint is gone";
  // Once there is room again the run resumes from that checkpoint and ends as if nothing happened.
  auto resumed = medvqa("train --resume --config " + config);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from " + previous + " at step " + std::to_string(step)),
            std::string::npos)
      << resumed.output;
  expect_same_run(tmp.file("straight"), run);
}

TEST(TrainFaults, ADivergingLossStopsTheRunNamingTheLastGoodCheckpoint) {
  testing::TempDir tmp;
  auto r = medvqa("train --config " + write_config(tmp, "diverging", 24, /*lr=*/1e6));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("stopped: the loss is"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the last good checkpoint is in " + tmp.file("diverging/checkpoint")), std::string::npos)
      << r.output;
  auto lines = metrics(tmp.file("diverging"));
  ASSERT_FALSE(lines.empty());
  // That checkpoint holds the last step whose loss was finite, and it resumes.
  const auto state = nlohmann::json::parse(testing::read_file(tmp.file("diverging/checkpoint/trainer_state.json")));
  EXPECT_EQ(state["step"], lines.back()["step"]);
  EXPECT_TRUE(std::isfinite(lines.back()["loss"].get<double>()));
}

}  // namespace
}  // namespace medvqa
