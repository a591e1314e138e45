// The medvqa executable end to end: subcommands, exit codes and error messages.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "testing/testing.h"

namespace medvqa {
namespace {

using testing::medvqa;
using testing::Run;

std::string first_image(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files.empty() ? "" : files.front();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = tmp_.file("tiny");
    auto r = medvqa("create-model --config " + testing::source_dir() + "/configs/models/tiny.json --tokenizer " + testing::golden_root() +
                    "/tokenizer/bpe_small/tokenizer.json --out " + model_);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  testing::TempDir tmp_;
  std::string model_;
};

TEST_F(Cli, AskReadsDicomWithAWindowPreset) {
  std::string dicom = tmp_.file("scan.dcm");
  ASSERT_EQ(std::system(("img2dcm " + first_image(testing::data_root() + "/vqa-rad/images") + " " + dicom +
                         " >/dev/null 2>&1").c_str()), 0);
  auto r = medvqa("ask --model " + model_ + " --image " + dicom + " --window lung -q 'Is the lung normal?'");
  EXPECT_EQ(r.status, 0) << r.output;
  auto bad = medvqa("ask --model " + model_ + " --image " + dicom + " --window liver -q 'Is the lung normal?'");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("unknown window preset 'liver'"), std::string::npos) << bad.output;
}

TEST_F(Cli, AskAnswersWithTheResearchNotice) {
  std::string image = first_image(testing::data_root() + "/vqa-rad/images");
  ASSERT_FALSE(image.empty());
  auto r = medvqa("ask --model " + model_ + " --image " + image + " --question 'Is there a fracture?' --json");
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j["answer"].is_string());
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 8);  // 8 image queries + the prompt
  EXPECT_NE(j["notice"].get<std::string>().find("not validated for clinical use"), std::string::npos);
  EXPECT_GT(j["confidence"].get<double>(), 0);
  EXPECT_FALSE(j["uncertain"].get<bool>());
  auto text = medvqa("ask --model " + model_ + " --image " + image + " -q 'Which organ?'");
  EXPECT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("not validated for clinical use"), std::string::npos);
  EXPECT_NE(text.output.find("confidence 0."), std::string::npos) << text.output;

  // Below --min-confidence the answer is "uncertain", and the model's answer is still shown.
  auto withheld = medvqa("ask --model " + model_ + " --image " + image +
                         " --question 'Is there a fracture?' --json --min-confidence 1");
  ASSERT_EQ(withheld.status, 0) << withheld.output;
  auto w = nlohmann::json::parse(withheld.output);
  EXPECT_EQ(w["answer"], "uncertain");
  EXPECT_TRUE(w["uncertain"].get<bool>());
  EXPECT_EQ(w["withheld_answer"], j["answer"]);
}

// The shipped model with its language model's weights packed: bf16 storage answered all 1329
// validation questions as fp32 did; int8 and int4 differ on a few, so only their shape is checked here.
TEST_F(Cli, AskWithPackedWeights) {
  const std::string shipped = testing::source_dir() + "/models/medvqa-small";
  const std::string image = testing::data_root() + "/slake/imgs/xmlab69/source.jpg";
  auto ask = [&](const std::string& weights) {
    auto r = medvqa("ask --model " + shipped + " --image " + image + " -q 'Which organ is abnormal?' --json --weights " +
                    weights, /*stderr_too=*/false);
    EXPECT_EQ(r.status, 0) << r.output;
    return r.status == 0 ? nlohmann::json::parse(r.output)["answer"].get<std::string>() : "";
  };
  const auto fp32 = ask("float32");
  EXPECT_FALSE(fp32.empty());
  EXPECT_EQ(ask("bfloat16"), fp32);
  EXPECT_FALSE(ask("int8").empty());
  EXPECT_FALSE(ask("int4").empty());
  auto bad = medvqa("ask --model " + shipped + " --image " + image + " -q 'Which organ?' --weights int3");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("--weights"), std::string::npos) << bad.output;
}

TEST_F(Cli, AskTakesTheDeviceToComputeOn) {
  const std::string image = testing::data_root() + "/slake/imgs/xmlab69/source.jpg";
  auto cpu = medvqa("ask --model " + model_ + " --image " + image + " -q 'Is it normal?' --device cpu");
  EXPECT_EQ(cpu.status, 0) << cpu.output;
  auto bad = medvqa("ask --model " + model_ + " --image " + image + " -q 'Is it normal?' --device gpu");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("unknown device 'gpu'"), std::string::npos) << bad.output;
}

TEST_F(Cli, BadInputGivesAClearErrorAndExitCode1) {
  std::string image = first_image(testing::data_root() + "/vqa-rad/images");
  auto empty = medvqa("ask --model " + model_ + " --image " + image + " --question '   '");
  EXPECT_EQ(empty.status, 1);
  EXPECT_NE(empty.output.find("question is empty"), std::string::npos) << empty.output;

  std::ofstream(tmp_.file("corrupt.jpg")) << "\xff\xd8\xff\xe0 not really a jpeg";
  auto corrupt = medvqa("ask --model " + model_ + " --image " + tmp_.file("corrupt.jpg") + " -q 'Is it normal?'");
  EXPECT_EQ(corrupt.status, 1);
  EXPECT_NE(corrupt.output.find("corrupt.jpg"), std::string::npos) << corrupt.output;

  auto no_model = medvqa("ask --model " + tmp_.file("nowhere") + " --image " + image + " -q 'Is it normal?'");
  EXPECT_EQ(no_model.status, 1);
  EXPECT_NE(no_model.output.find("nowhere"), std::string::npos) << no_model.output;

  // A truncated checkpoint names the file and the problem.
  std::filesystem::resize_file(model_ + "/model.safetensors", 1000);
  auto truncated = medvqa("ask --model " + model_ + " --image " + image + " -q 'Is it normal?'");
  EXPECT_EQ(truncated.status, 1);
  EXPECT_NE(truncated.output.find("model.safetensors"), std::string::npos) << truncated.output;
}

// The bench JSON that result files and comparisons rely on: the machine's baselines first, then
// rows whose ratio is value / baseline.
TEST_F(Cli, BenchPrintsRowsWithSameRunBaselines) {
  auto r = medvqa("bench --only qformer --repeats 1 --json", /*stderr_too=*/false);
  ASSERT_EQ(r.status, 0) << r.output;
  auto rows = nlohmann::json::parse(r.output.substr(r.output.find("\n[")));
  ASSERT_GE(rows.size(), 5u);
  EXPECT_EQ(rows[0]["name"], "machine.read_bandwidth");
  EXPECT_EQ(rows[1]["name"], "machine.gemm_bf16");
  EXPECT_EQ(rows[2]["name"], "machine.gemm_fp32");
  for (size_t i = 0; i < 3; ++i) EXPECT_GT(rows[i]["value"].get<double>(), 0) << rows[i];
  auto qformer = std::find_if(rows.begin(), rows.end(), [](const auto& j) { return j["name"] == "qformer.blip2-32q"; });
  ASSERT_NE(qformer, rows.end());
  const double gemm = (*qformer)["baseline_name"] == "gemm_bf16" ? rows[1]["value"].get<double>()
                                                                  : rows[2]["value"].get<double>();
  EXPECT_DOUBLE_EQ((*qformer)["baseline"].get<double>(), gemm);
  EXPECT_NEAR((*qformer)["ratio"].get<double>(), (*qformer)["value"].get<double>() / gemm, 1e-12);
  auto latency = std::find_if(rows.begin(), rows.end(), [](const auto& j) { return j["name"] == "qformer.blip2-32q.latency"; });
  ASSERT_NE(latency, rows.end());
  EXPECT_EQ((*latency)["unit"], "ms");
  EXPECT_FALSE(latency->contains("baseline"));
}

TEST_F(Cli, InspectListsTensorsAndConfig) {
  auto r = medvqa("inspect " + model_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("language_model.transformer.h.0.self_attention.query_key_value.weight"), std::string::npos);
  EXPECT_NE(r.output.find("visual.trunk.pos_embed"), std::string::npos);
  EXPECT_NE(r.output.find("num_query_tokens"), std::string::npos);
}

TEST_F(Cli, AverageWritesTheMeanOfModelsThatAnswers) {
  std::string image = first_image(testing::data_root() + "/vqa-rad/images");
  std::string other = tmp_.file("tiny-seed-7");
  auto made = medvqa("create-model --config " + testing::source_dir() + "/configs/models/tiny.json --tokenizer " +
                     testing::golden_root() + "/tokenizer/bpe_small/tokenizer.json --seed 7 --out " + other);
  ASSERT_EQ(made.status, 0) << made.output;
  std::string soup = tmp_.file("soup");
  auto r = medvqa("average " + model_ + " " + other + " --weights 3,1 --dtype float32 --out " + soup);
  ASSERT_EQ(r.status, 0) << r.output;
  auto ask = medvqa("ask --model " + soup + " --image " + image + " -q 'Is there a fracture?' --json");
  ASSERT_EQ(ask.status, 0) << ask.output;
  EXPECT_TRUE(nlohmann::json::parse(ask.output)["answer"].is_string());

  // The mean of a model with itself is that model: the same answer with the same confidence.
  std::string same = tmp_.file("same");
  ASSERT_EQ(medvqa("average " + model_ + " " + model_ + " --dtype float32 --out " + same).status, 0);
  auto a = nlohmann::json::parse(medvqa("ask --model " + model_ + " --image " + image + " -q 'Which organ?' --json").output);
  auto b = nlohmann::json::parse(medvqa("ask --model " + same + " --image " + image + " -q 'Which organ?' --json").output);
  EXPECT_EQ(a["answer"], b["answer"]);
  EXPECT_DOUBLE_EQ(a["confidence"].get<double>(), b["confidence"].get<double>());

  auto one = medvqa("average " + model_ + " --out " + tmp_.file("one"));
  EXPECT_EQ(one.status, 1);
  EXPECT_NE(one.output.find("at least two"), std::string::npos) << one.output;
  auto bad = medvqa("average " + model_ + " " + other + " --weights 1,-2 --out " + tmp_.file("bad"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("negative"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("bad") + "/model.safetensors"));
  auto short_weights = medvqa("average " + model_ + " " + other + " --weights 1 --out " + tmp_.file("short"));
  EXPECT_EQ(short_weights.status, 1);
  EXPECT_NE(short_weights.output.find("2 models but 1 weights"), std::string::npos) << short_weights.output;
}

TEST_F(Cli, HelpExplainsEverySubcommand) {
  auto r = medvqa("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* sub : {"ask", "inspect", "convert", "create-model", "average"})
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub;
  EXPECT_NE(medvqa("no-such-command").status, 0);
}

}  // namespace
}  // namespace medvqa
