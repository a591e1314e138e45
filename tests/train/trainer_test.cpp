// The training engine on real SLAKE rows with a tiny model: the loss falls, a killed and
// resumed run continues exactly as an uninterrupted one, checkpoints load as models, and the
// validation during training answers and scores as `medvqa eval` does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "eval/report.h"
#include "infer/answerer.h"
#include "infer/evaluate.h"
#include "io/error.h"
#include "model/init.h"
#include "model/pretrained.h"
#include "testing/testing.h"
#include "testing/tiny_training.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace medvqa::train {
namespace {

TrainConfig tiny_config(const std::string& out, int64_t steps) {
  auto j = testing::tiny_training("tiny-test", out, 96);
  j.update({{"validation", {{{"format", "slake"}, {"path", testing::data_root() + "/slake/validate.json"}, {"limit", 16}}}},
            {"warmup_steps", 3},
            {"max_steps", steps},
            {"batch_size", 8},
            {"eval_every", 0},
            {"flip_probability", 0.5}});
  return TrainConfig::from_json(j, "");
}

std::vector<double> losses(const std::string& out) {
  std::vector<double> v;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) v.push_back(j["loss"].get<double>());
  }
  return v;
}

TEST(Trainer, LossFallsOnRealSlakeRows) {
  testing::TempDir tmp;
  Trainer trainer(tiny_config(tmp.path(), 30), /*verbose=*/false);
  trainer.run(false);
  auto l = losses(tmp.path());
  ASSERT_EQ(l.size(), 30u);
  double first = (l[0] + l[1] + l[2]) / 3, last = (l[27] + l[28] + l[29]) / 3;
  EXPECT_LT(last, first - 1.0) << "first " << first << " last " << last;
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  testing::TempDir straight_dir, resumed_dir;
  Trainer straight(tiny_config(straight_dir.path(), 10), false);
  straight.run(false);
  {
    Trainer first_half(tiny_config(resumed_dir.path(), 10), false);
    first_half.run(false, /*stop_after=*/4);  // as if killed after the checkpoint of step 4
    EXPECT_EQ(first_half.state().step, 4);
  }
  Trainer second_half(tiny_config(resumed_dir.path(), 10), false);
  second_half.run(true);
  EXPECT_EQ(second_half.state().step, 10);
  auto a = losses(straight_dir.path()), b = losses(resumed_dir.path());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6 * std::max(1.0, std::abs(a[i]))) << "step " << i + 1;
  auto pa = straight.model()->named_parameters(), pb = second_half.model()->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(testing::all_close(pb[p.key()], p.value(), 1e-6, 1e-5, p.key()));
}

TEST(Trainer, BestModelLoadsAndAnswers) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 6);
  config.eval_every = 3;
  Trainer trainer(config, false);
  trainer.run(false);
  EXPECT_GE(trainer.state().best_step, 3);
  auto answerer = infer::Answerer::load(tmp.path() + "/best");
  // Trained on single questions only, it asks follow-ups alone (tiny.json asked them with history).
  EXPECT_FALSE(answerer.model()->config.follow_ups_in_prompt);
  auto image = image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg");
  auto a = answerer.answer(image, "Which organ is abnormal?");
  EXPECT_GT(a.prompt_tokens, 0);
  // best/ is the model that scored best: answering the validation split from disk gives the exact
  // match that metrics.jsonl logged at best_step.
  std::vector<data::VqaExample> examples;
  for (const auto& s : load_samples(config.validation, false)) examples.push_back(s.example);
  const double from_disk =
      eval::evaluate(infer::predict(answerer, examples, config.batch_size), {}, {}).total.exact_match.all.value().value_or(-1);
  std::optional<double> logged;
  std::ifstream metrics(tmp.path() + "/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("exact_match") && j["step"] == trainer.state().best_step) logged = j["exact_match"].get<double>();
  }
  ASSERT_TRUE(logged) << "no evaluation logged at step " << trainer.state().best_step;
  EXPECT_DOUBLE_EQ(from_disk, *logged);
  // The checkpoint's model equals the trainer's in memory.
  auto saved = model::load_medvqa(tmp.path() + "/checkpoint/model");
  auto params = trainer.model()->named_parameters();
  for (const auto& p : saved->named_parameters()) EXPECT_TRUE(torch::equal(params[p.key()], p.value())) << p.key();
}

TEST(Trainer, AModelTrainedWithFollowUpsPromptsThemWithTheirEarlierTurns) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 2);
  config.history_probability = 0.5;
  Trainer(config, false).run(false);
  EXPECT_TRUE(model::load_medvqa(tmp.path() + "/best")->config.follow_ups_in_prompt);
}

TEST(Trainer, ValidationAnswersAndScoresAsMedvqaEvalDoes) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 2);
  config.eval_every = 2;
  Trainer trainer(config, false);
  trainer.run(false);
  // Large random weights answer each question differently (a few steps of training answer all
  // alike), so that the comparison below compares something.
  model::init_weights(*trainer.model(), 0.5, 11);
  const std::string saved = tmp.file("saved");
  model::save_medvqa(trainer.model(), saved);
  std::filesystem::copy_file(tmp.file("best/tokenizer.json"), saved + "/tokenizer.json");
  auto in_training = trainer.evaluate(0);
  ASSERT_EQ(in_training.n, 16);
  // `medvqa eval`'s path: the saved model loaded from disk, images decoded from their files.
  std::vector<data::VqaExample> examples;
  for (const auto& s : load_samples(config.validation, false)) examples.push_back(s.example);
  auto answerer = infer::Answerer::load(saved);
  auto predictions = infer::predict(answerer, examples, config.batch_size);
  ASSERT_EQ(predictions.size(), in_training.predictions.size());
  std::set<std::string> distinct;
  for (size_t i = 0; i < predictions.size(); ++i) {
    EXPECT_EQ(in_training.predictions[i].prediction, predictions[i].prediction) << examples[i].question;
    distinct.insert(predictions[i].prediction);
  }
  EXPECT_GT(distinct.size(), 2u) << "the answers do not depend on the question: nothing is compared";
  auto scores = eval::evaluate(predictions, {}, {}).total;
  EXPECT_DOUBLE_EQ(in_training.overall, scores.exact_match.all.value().value_or(-1));
  EXPECT_DOUBLE_EQ(in_training.closed, scores.exact_match.closed.value().value_or(-1));
  EXPECT_DOUBLE_EQ(in_training.open, scores.exact_match.open.value().value_or(-1));
}

TEST(Trainer, LogsEachPartsGradientNormAndTheBlankImageControl) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 4);
  config.eval_every = 4;
  config.eval_blank_images = true;
  Trainer trainer(config, false);
  trainer.run(false);
  std::ifstream in(tmp.path() + "/metrics.jsonl");
  int steps = 0, evals = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) {
      ++steps;
      for (const char* part : {"visual", "qformer", "language_projection", "language_model"})
        EXPECT_GT(j.at("grad_norms").at(part).get<double>(), 0.0) << part << " " << line;
    }
    if (j.contains("exact_match")) {
      ++evals;
      for (const char* key : {"blank_images_exact_match", "blank_images_exact_match_closed"}) {
        ASSERT_TRUE(j.contains(key)) << line;
        EXPECT_GE(j[key].get<double>(), 0.0);
        EXPECT_LE(j[key].get<double>(), 1.0);
      }
    }
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(evals, 1);
  // The blank control answers from a uniform image: its loss differs from the real images' loss.
  auto real = trainer.evaluate(16), blank = trainer.evaluate(16, /*blank_images=*/true);
  EXPECT_NE(real.loss, blank.loss);
  EXPECT_EQ(real.n, blank.n);
}

TEST(Trainer, FrozenParametersGetNoGradientAndDoNotChange) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 3);
  config.trainable = {"query_tokens", "qformer.", "language_projection."};
  Trainer trainer(config, false);
  auto before = trainer.model()->visual->trunk->pos_embed.clone();
  auto qbefore = trainer.model()->query_tokens.clone();
  trainer.run(false);
  EXPECT_TRUE(torch::equal(before, trainer.model()->visual->trunk->pos_embed));
  EXPECT_FALSE(trainer.model()->visual->trunk->pos_embed.grad().defined());
  EXPECT_FALSE(torch::equal(qbefore, trainer.model()->query_tokens));
}

TEST(Trainer, LoraStageSavesAPeftAdapter) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 3);
  config.trainable = {"qformer.", "language_projection.", "lora"};
  model::LoraConfig lora;
  lora.r = 4;
  lora.lora_alpha = 8;
  config.lora = lora;
  Trainer trainer(config, false);
  trainer.run(false);
  EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/best/adapter/adapter_model.safetensors"));
  auto reloaded = model::load_medvqa(tmp.path() + "/best");
  bool has_lora = false;
  for (const auto& p : reloaded->named_parameters()) has_lora |= p.key().find("lora_B") != std::string::npos;
  EXPECT_TRUE(has_lora);
}

TEST(Trainer, ATrainablePatternThatMatchesNothingIsAnErrorNamingIt) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 1);
  config.trainable = {"qformer.", "language_modle."};
  try {
    Trainer trainer(config, false);
    FAIL() << "a misspelled trainable pattern trained";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'language_modle.'"), std::string::npos) << e.what();
  }
}

TEST(TrainConfigTest, ErrorsNameTheProblem) {
  nlohmann::json j = {{"train", nlohmann::json::array()}, {"model_config", "x.json"}, {"tokenizer", "t.json"}};
  EXPECT_THROW(TrainConfig::from_json(j, ""), Error);
  j["train"] = {{{"format", "slake"}, {"path", "a.json"}}};
  j["init_model"] = "somewhere";
  EXPECT_THROW(TrainConfig::from_json(j, ""), Error);  // both init_model and model_config
  j.erase("init_model");
  j["dtype"] = "float16";
  EXPECT_THROW(TrainConfig::from_json(j, ""), Error);
  j["dtype"] = "bfloat16";
  j["history_probability"] = 1.2;
  EXPECT_NE(testing::error_of([&] { TrainConfig::from_json(j, ""); }).find("history_probability"), std::string::npos);
  j["history_probability"] = 0.3;
  j["label_smoothing"] = 1.0;
  EXPECT_NE(testing::error_of([&] { TrainConfig::from_json(j, ""); }).find("label_smoothing"), std::string::npos);
  j.erase("label_smoothing");
  j["lr_scales"] = {{"qformer.", 0.0}};
  EXPECT_NE(testing::error_of([&] { TrainConfig::from_json(j, ""); }).find("lr_scales 'qformer.'"), std::string::npos);
  j["lr_scales"] = {{"qformer.", "fast"}};
  EXPECT_NE(testing::error_of([&] { TrainConfig::from_json(j, ""); }).find("lr_scales"), std::string::npos);
  j.erase("lr_scales");
  j["history_max_turns"] = 0;
  EXPECT_NE(testing::error_of([&] { TrainConfig::from_json(j, ""); }).find("history_max_turns"), std::string::npos);
  j.erase("history_max_turns");
  j["dtype"] = "auto";  // the fast one of this machine
  const auto dtype = TrainConfig::from_json(j, "").compute_dtype();
  EXPECT_TRUE(dtype == torch::kBFloat16 || dtype == torch::kFloat32) << dtype;
  EXPECT_EQ(TrainConfig::from_json(j, "").to_json()["dtype"], dtype == torch::kBFloat16 ? "bfloat16" : "float32");
  j["device"] = "cuda";  // auto is bf16 on a GPU, whatever the CPU
  EXPECT_EQ(TrainConfig::from_json(j, "").compute_dtype(), torch::kBFloat16);
  j["device"] = "gpu";
  try {
    TrainConfig::from_json(j, "");
    ADD_FAILURE() << "device 'gpu' was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown device 'gpu'"), std::string::npos) << e.what();
  }
}

TEST(Trainer, DeviceComesFromTheConfigAndABadOneIsAClearError) {
  testing::TempDir tmp;
  auto config = tiny_config(tmp.path(), 1);
  EXPECT_EQ(config.device, torch::Device(torch::kCPU));
  EXPECT_EQ(TrainConfig::from_json(config.to_json(), "").device, torch::Device(torch::kCPU));
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU here: cuda:0 is usable";
  config.device = torch::Device(torch::kCUDA, 0);
  try {
    Trainer trainer(config, /*verbose=*/false);
    ADD_FAILURE() << "a trainer on a missing GPU was built";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device is usable here"), std::string::npos) << e.what();
  }
}

TEST(Schedule, WarmupThenCosine) {
  EXPECT_DOUBLE_EQ(learning_rate(0, 1.0, 10, 110, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(9, 1.0, 10, 110, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(10, 1.0, 10, 110, 0.1), 1.0);
  EXPECT_NEAR(learning_rate(60, 1.0, 10, 110, 0.1), 0.55, 1e-12);
  EXPECT_NEAR(learning_rate(110, 1.0, 10, 110, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(500, 1.0, 10, 110, 0.1), 0.1, 1e-12);
}

}  // namespace
}  // namespace medvqa::train
