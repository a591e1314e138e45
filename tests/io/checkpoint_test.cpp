#include "io/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "testing/testing.h"
#include "zip_builder.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_error;

void write_index(const std::string& path, const std::map<std::string, std::string>& weight_map) {
  nlohmann::json j = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  testing::write_file(path, j.dump(2));
}

// A torch.save-style shard holding {name: [4] float32 filled with `value`}.
std::string bin_shard(const std::string& name, float value) {
  std::string data;
  for (int i = 0; i < 4; ++i) data.append(reinterpret_cast<const char*>(&value), sizeof value);
  return testing::build_zip({{"archive/data.pkl", testing::tensor_pickle(name, "FloatStorage", 4, {4}, {1}, 0)},
                             {"archive/data/0", data},
                             {"archive/version", "3\n"}});
}

TEST(Checkpoint, LoadsShardedSafetensorsDirectory) {
  TempDir dir;
  save_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", torch::ones({2})}, {"b", torch::zeros(3)}});
  save_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"c", torch::full({1}, 7.0)}});
  write_index(dir.file("model.safetensors.index.json"), {{"a", "model-00001-of-00002.safetensors"},
                                                         {"b", "model-00001-of-00002.safetensors"},
                                                         {"c", "model-00002-of-00002.safetensors"}});
  StateDict sd = load_checkpoint(dir.path());
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(sd.at("c").item<float>(), 7.0f);
  EXPECT_EQ(checkpoint_files(dir.path()).size(), 2u);
  EXPECT_EQ(load_checkpoint(dir.file("model.safetensors.index.json")).size(), 3u);
}

TEST(Checkpoint, MissingShardIsAClearError) {
  TempDir dir;
  save_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", torch::ones({2})}});
  write_index(dir.file("model.safetensors.index.json"),
              {{"a", "model-00001-of-00002.safetensors"}, {"c", "model-00002-of-00002.safetensors"}});
  EXPECT_TRUE(
      throws_error([&] { load_checkpoint(dir.path()); },
                   {dir.file("model.safetensors.index.json"), "shard model-00002-of-00002.safetensors is missing"}));
}

TEST(Checkpoint, IndexMustMatchTheShards) {
  TempDir dir;
  save_safetensors(dir.file("s1.safetensors"), {{"a", torch::ones({2})}});
  save_safetensors(dir.file("s2.safetensors"), {{"a", torch::ones({2})}});
  write_index(dir.file("model.safetensors.index.json"), {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}});
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.path()); }, {"lists tensor 'b' in s1.safetensors"}));
  write_index(dir.file("model.safetensors.index.json"), {{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.path()); }, {"tensor 'a' also appears in another shard"}));
  // A name the file system refuses (found by fuzz/checkpoint_index_fuzzer: an uncaught filesystem_error).
  const std::string long_name = std::string(300, 'w') + ".safetensors";
  write_index(dir.file("model.safetensors.index.json"), {{"a", long_name}});
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.path()); }, {"shard " + long_name + " is missing", "too long"}));
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.file(long_name)); }, {"no such file"}));
  write_index(dir.file("model.safetensors.index.json"), {{"a", "../s1.safetensors"}});
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.path()); }, {"is not a plain file name"}));
  testing::write_file(dir.file("model.safetensors.index.json"), "{\"weight_map\": ");
  EXPECT_TRUE(
      throws_error([&] { load_checkpoint(dir.path()); }, {dir.file("model.safetensors.index.json"), "invalid JSON"}));
}

TEST(Checkpoint, LoadsShardedTorchBinDirectory) {
  TempDir dir;
  testing::write_file(dir.file("pytorch_model-00001-of-00002.bin"), bin_shard("x", 1.5f));
  testing::write_file(dir.file("pytorch_model-00002-of-00002.bin"), bin_shard("y", -2.0f));
  write_index(dir.file("pytorch_model.bin.index.json"),
              {{"x", "pytorch_model-00001-of-00002.bin"}, {"y", "pytorch_model-00002-of-00002.bin"}});
  StateDict sd = load_checkpoint(dir.path());
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_TRUE(torch::equal(sd.at("x"), torch::full({4}, 1.5f)));
  EXPECT_TRUE(torch::equal(sd.at("y"), torch::full({4}, -2.0f)));
}

TEST(Checkpoint, DirectoryPrefersSafetensors) {
  TempDir dir;
  testing::write_file(dir.file("pytorch_model.bin"), bin_shard("from_bin", 1));
  EXPECT_TRUE(load_checkpoint(dir.path()).count("from_bin"));
  save_safetensors(dir.file("model.safetensors"), {{"from_safetensors", torch::ones(1)}});
  EXPECT_TRUE(load_checkpoint(dir.path()).count("from_safetensors"));
  EXPECT_EQ(checkpoint_files(dir.path()), std::vector<std::string>{dir.file("model.safetensors")});
}

TEST(Checkpoint, MissingOrEmptyPathsAreClearErrors) {
  TempDir dir;
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.file("nothing")); }, {dir.file("nothing"), "no such file"}));
  EXPECT_TRUE(throws_error([&] { load_checkpoint(dir.path()); }, {dir.path(), "no checkpoint file found"}));
}

TEST(Checkpoint, LoadsEveryGoldenModelDirectory) {
  const std::string root = testing::golden_root();
  const std::vector<std::string> dirs = {"bloom/bloom_a", "bloom/bloom_b", "lora/adapter", "lora/base",
                                         "lora/merged",   "qformer",       "vit"};
  for (const auto& d : dirs) {
    StateDict sd = load_checkpoint(root + "/" + d);
    EXPECT_FALSE(sd.empty()) << d;
  }
}

}  // namespace
}  // namespace medvqa::io
