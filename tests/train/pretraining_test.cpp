// The two pre-training stages on real rows with tiny towers: contrastive image-text pre-training
// of the vision tower and language-model pre-training of BLOOM. Each loss falls, a killed and
// resumed run continues exactly, and the results load where the next stage reads them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "model/clip.h"
#include "model/pretrained.h"
#include "testing/testing.h"
#include "train/contrastive_pretraining.h"
#include "train/language_pretraining.h"
#include "train/pretraining.h"

namespace medvqa::train {
namespace {

nlohmann::json base_config(const std::string& out, const std::string& kind, int64_t steps) {
  return {{"kind", kind},
          {"name", "tiny-" + kind},
          {"output_dir", out},
          {"model_config", testing::source_dir() + "/configs/models/tiny.json"},
          {"tokenizer", testing::golden_root() + "/tokenizer/bpe_small/tokenizer.json"},
          {"lr", 1e-3},
          {"warmup_steps", 2},
          {"max_steps", steps},
          {"batch_size", 16},
          {"eval_every", 0},
          {"checkpoint_every", 0},
          {"threads", 1}};
}

TrainConfig contrastive_config(const std::string& out, int64_t steps) {
  auto j = base_config(out, "contrastive", steps);
  j["text_tower"] = {{"vocab_size", 2048}, {"hidden_size", 64}, {"n_layer", 2}, {"n_head", 4}};
  j["batch_size"] = 8;
  j["train"] = {{{"format", "slake"}, {"path", testing::data_root() + "/slake/train.json"}, {"limit", 400}}};
  j["validation"] = {{{"format", "slake"}, {"path", testing::data_root() + "/slake/validate.json"}, {"limit", 120}}};
  j["crop_scale_min"] = 0.8;
  return TrainConfig::from_json(j, "");
}

TrainConfig language_config(const std::string& out, int64_t steps) {
  auto j = base_config(out, "language_model", steps);
  j["sequence_length"] = 24;
  j["validation_fraction"] = 0.1;
  j["train"] = {{{"format", "text"}, {"path", testing::data_root() + "/roco-captions/captions.tsv"}, {"limit", 400}},
                {{"format", "slake"}, {"path", testing::data_root() + "/slake/train.json"}, {"limit", 200}}};
  return TrainConfig::from_json(j, "");
}

std::vector<nlohmann::json> metrics(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<double> losses(const std::string& out) {
  std::vector<double> v;
  for (const auto& m : metrics(out))
    if (m.contains("loss")) v.push_back(m["loss"].get<double>());
  return v;
}

double mean(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s / double(end - begin);
}

TEST(ImageTexts, GroupsStatementsAndAttributesByImage) {
  Sample a, b, c;
  a.image_path = b.image_path = "x.jpg";
  c.image_path = "y.jpg";
  a.question = "Which organ is abnormal?";
  a.target = "liver";
  a.example.image_attributes = {{"modality", "CT"}, {"organs", "Liver, Spleen"}};
  b = a;
  b.question = "Is this a CT?";
  b.target = "yes";
  c.target = "CT, axial: a liver cyst";  // a caption
  auto images = group_by_image({a, b, c});
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0].statements,
            (std::vector<std::string>{"Which organ is abnormal? liver", "modality: CT", "organs: Liver, Spleen",
                                      "Is this a CT? yes"}));
  ASSERT_EQ(images[0].attributes.size(), 2u);
  EXPECT_EQ(images[0].attributes[0], (std::pair<std::string, std::string>{"modality", "CT"}));
  EXPECT_EQ(images[1].statements, (std::vector<std::string>{"CT, axial: a liver cyst"}));

  std::mt19937_64 rng(1);
  std::string text = draw_text(images[0], 2, rng);
  EXPECT_EQ(std::count(text.begin(), text.end(), ';'), 1) << text;
  std::mt19937_64 again(1);
  EXPECT_EQ(draw_text(images[0], 2, again), text);
  EXPECT_EQ(draw_text(images[1], 4, rng), "CT, axial: a liver cyst");
}

TEST(ContrastivePretraining, LossFallsAndTheTowerLoadsAsVisionWeights) {
  testing::TempDir tmp;
  auto config = contrastive_config(tmp.file("clip"), 60);
  config.eval_every = 60;
  auto objective = make_contrastive_objective(config, false);
  EXPECT_EQ(run_pretraining(*objective, config, false, false), 60);
  auto l = losses(config.output_dir);
  ASSERT_EQ(l.size(), 60u);
  EXPECT_LT(mean(l, 50, 60), mean(l, 0, 10) - 0.3) << "first " << mean(l, 0, 10) << " last " << mean(l, 50, 60);

  // Evaluated before the first step and after the last: retrieval and the probes, as fractions.
  std::vector<nlohmann::json> evals;
  for (const auto& m : metrics(config.output_dir))
    if (m.contains("metric")) evals.push_back(m);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0]["step"], 0);
  for (const char* key : {"image_to_text_recall_at_1", "image_to_text_recall_at_5", "text_to_image_recall_at_5",
                          "probe_modality", "probe_location"}) {
    ASSERT_TRUE(evals[1].contains(key)) << evals[1].dump();
    EXPECT_GE(evals[1][key].get<double>(), 0.0) << key;
    EXPECT_LE(evals[1][key].get<double>(), 1.0) << key;
  }
  EXPECT_GE(evals[1]["image_to_text_recall_at_5"].get<double>(), evals[1]["image_to_text_recall_at_1"].get<double>());

  // The best result is an open_clip directory: the vision tower loads alone, and a medvqa model
  // config naming it as vision_weights starts from exactly these weights.
  const std::string best = config.output_dir + "/best";
  auto clip = model::load_open_clip(best);
  auto visual = model::load_open_clip_vision(best);
  auto tower = clip->visual->named_parameters();
  for (const auto& p : visual->named_parameters())
    EXPECT_TRUE(testing::all_close(p.value(), tower[p.key()], 0, 0, p.key()));
  auto model_config = model::read_json_file(testing::source_dir() + "/configs/models/tiny.json");
  model_config["vision_weights"] = best;
  const std::string config_path = tmp.file("with-tower.json");
  std::ofstream(config_path) << model_config.dump();
  auto vqa = model::create_medvqa(config_path, 7);
  auto fused = vqa->visual->named_parameters();
  for (const auto& p : visual->named_parameters())
    EXPECT_TRUE(testing::all_close(fused[p.key()], p.value(), 0, 0, p.key()));
}

TEST(ContrastivePretraining, ResumedRunEqualsUninterruptedRun) {
  testing::TempDir tmp;
  auto straight_config = contrastive_config(tmp.file("straight"), 6);
  auto straight = make_contrastive_objective(straight_config, false);
  run_pretraining(*straight, straight_config, false, false);
  auto resumed_config = contrastive_config(tmp.file("resumed"), 6);
  {
    auto first = make_contrastive_objective(resumed_config, false);
    EXPECT_EQ(run_pretraining(*first, resumed_config, false, false, /*stop_after=*/3), 3);
  }
  auto second = make_contrastive_objective(resumed_config, false);
  EXPECT_EQ(run_pretraining(*second, resumed_config, true, false), 6);
  auto a = losses(straight_config.output_dir), b = losses(resumed_config.output_dir);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * std::max(1.0, std::abs(a[i]))) << "step " << i + 1;
  auto pa = straight->module().named_parameters(), pb = second->module().named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(testing::all_close(pb[p.key()], p.value(), 1e-6, 1e-5, p.key()));
}

TEST(LanguagePretraining, PerplexityFallsAndTheResultLoadsAsABloomCheckpoint) {
  testing::TempDir tmp;
  auto config = language_config(tmp.file("lm"), 40);
  config.eval_every = 40;
  auto objective = make_language_objective(config, false);
  run_pretraining(*objective, config, false, false);
  std::vector<nlohmann::json> evals;
  for (const auto& m : metrics(config.output_dir))
    if (m.contains("validation_perplexity")) evals.push_back(m);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_GT(evals[0]["validation_perplexity"].get<double>(), 1000.0);  // untrained: about the vocabulary's 2048
  EXPECT_LT(evals[1]["validation_perplexity"].get<double>(), 0.5 * evals[0]["validation_perplexity"].get<double>());
  EXPECT_GT(evals[1]["validation_tokens"].get<int64_t>(), 100);

  auto lm = model::load_bloom(config.output_dir + "/best");
  auto trained = objective->module().named_parameters();
  for (const auto& p : lm->named_parameters())
    EXPECT_TRUE(testing::all_close(p.value(), trained[p.key()], 0, 0, p.key()));
  EXPECT_TRUE(std::filesystem::exists(config.output_dir + "/best/tokenizer.json"));
}

TEST(LanguagePretraining, ReadsTextAndQuestionsInThePromptTemplate) {
  DataSource kg{"text", testing::data_root() + "/slake/KG/en_organ.csv"};
  DataSource qa{"slake", testing::data_root() + "/slake/train.json"};
  qa.limit = 3;
  auto docs = read_documents({kg, qa}, "Question: {question} Answer:", false);
  ASSERT_GT(docs.size(), 100u);
  EXPECT_EQ(docs.front(), "Motor System component: bone, bone junctions, skeletal muscles");
  EXPECT_EQ(docs.back().rfind("Question: ", 0), 0u) << docs.back();
  EXPECT_NE(docs.back().find(" Answer: "), std::string::npos) << docs.back();
}

TEST(Pretraining, ConfigsNameTheirKind) {
  nlohmann::json j = base_config("out", "clip", 1);
  j["train"] = {{{"format", "slake"}, {"path", "x.json"}}};
  try {
    TrainConfig::from_json(j, "");
    FAIL() << "an unknown kind was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'clip'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace medvqa::train
