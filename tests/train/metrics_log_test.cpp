// metrics.jsonl of a run that was killed and resumed reads as the log of one uninterrupted run.
#include <gtest/gtest.h>

#include <filesystem>

#include "testing/testing.h"
#include "train/metrics_log.h"

namespace medvqa::train {
namespace {

TEST(MetricsLog, ResumingDropsTheLinesAfterTheCheckpointAndATornLastLine) {
  testing::TempDir tmp;
  MetricsLog log(tmp.file("metrics.jsonl"));
  for (int step = 0; step <= 5; ++step) log.append({{"step", step}, {"loss", 1.0 / (step + 1)}});
  log.append({{"step", 4}, {"exact_match", 0.5}});
  // The process died in the middle of writing step 6.
  testing::write_file(log.path(), testing::read_file(log.path()) + "{\"step\": 6, \"lo");
  log.resume_at(4);
  EXPECT_EQ(testing::read_file(log.path()),
            "{\"loss\":1.0,\"step\":0}\n{\"loss\":0.5,\"step\":1}\n{\"loss\":0.3333333333333333,\"step\":2}\n"
            "{\"loss\":0.25,\"step\":3}\n{\"loss\":0.2,\"step\":4}\n{\"exact_match\":0.5,\"step\":4}\n");
  log.append({{"step", 5}, {"loss", 0.1}});
  EXPECT_NE(testing::read_file(log.path()).find("{\"exact_match\":0.5,\"step\":4}\n{\"loss\":0.1,\"step\":5}\n"),
            std::string::npos);
}

TEST(MetricsLog, AResumeWithoutALogStartsNoneAndARunFromStepZeroStartsANewOne) {
  testing::TempDir tmp;
  MetricsLog log(tmp.file("metrics.jsonl"));
  log.resume_at(3);
  EXPECT_FALSE(std::filesystem::exists(log.path()));
  log.append({{"step", 1}, {"loss", 2.0}});
  log.clear();
  log.append({{"step", 1}, {"loss", 3.0}});
  EXPECT_EQ(testing::read_file(log.path()), "{\"loss\":3.0,\"step\":1}\n");
}

TEST(MetricsLog, AFailedAppendIsAnErrorNamingTheFile) {
  testing::TempDir tmp;
  MetricsLog log(tmp.file("no-such-dir/metrics.jsonl"));
  EXPECT_NE(testing::error_of([&] { log.append({{"step", 1}}); }).find(tmp.file("no-such-dir/metrics.jsonl") +
                                                                       ": cannot append a line"),
            std::string::npos);
}

}  // namespace
}  // namespace medvqa::train
