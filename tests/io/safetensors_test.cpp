#include "io/safetensors.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "helpers.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;
using testing::bit_equal;
using testing::TempDir;
using testing::throws_error;

std::map<std::string, torch::Tensor> one_of_each_dtype() {
  torch::manual_seed(7);
  std::map<std::string, torch::Tensor> t;
  t["f32"] = torch::randn({3, 5});
  t["f16"] = torch::randn({4}).to(torch::kFloat16);
  t["bf16"] = torch::randn({2, 2, 2}).to(torch::kBFloat16);
  t["f64"] = torch::randn({7}, torch::kFloat64);
  t["i64"] = torch::randint(-(int64_t{1} << 40), int64_t{1} << 40, {3}, torch::kInt64);
  t["i32"] = torch::randint(-100000, 100000, {2, 3}, torch::kInt32);
  t["i16"] = torch::randint(-30000, 30000, {5}, torch::kInt16);
  t["i8"] = torch::randint(-128, 127, {6}, torch::kInt8);
  t["u8"] = torch::randint(0, 255, {6}, torch::kUInt8);
  t["bool"] = torch::randint(0, 2, {9}).to(torch::kBool);
  t["scalar"] = torch::tensor(3.5);
  t["empty"] = torch::zeros({0, 4});
  t["transposed"] = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();
  return t;
}

// A file with a hand-written header, for the corruption cases. `header_len` defaults to the JSON's size.
std::string raw_file(const std::string& header, const std::string& data, std::optional<uint64_t> header_len = {}) {
  std::string out;
  uint64_t n = header_len.value_or(header.size());
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, RoundTripsEveryDtype) {
  TempDir dir;
  const auto tensors = one_of_each_dtype();
  save_safetensors(dir.file("all.safetensors"), tensors, {{"format", "pt"}, {"note", "é ünïcode"}});
  auto f = SafetensorsFile::open(dir.file("all.safetensors"));
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "é ünïcode"}}));
  ASSERT_EQ(f.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(f.contains(name)) << name;
    EXPECT_TRUE(bit_equal(f.tensor(name), t, name));
    EXPECT_STREQ(dtype_name(f.entry(name).dtype), dtype_name(from_scalar_type(t.scalar_type())));
  }
  // The data section starts 8-byte aligned, as the reference writer leaves it.
  std::string raw = testing::read_file(dir.file("all.safetensors"));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(raw[i]);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, NoMetadataMeansNoMetadataKey) {
  TempDir dir;
  save_safetensors(dir.file("a.safetensors"), {{"x", torch::ones({2})}});
  EXPECT_EQ(testing::read_file(dir.file("a.safetensors")).find("__metadata__"), std::string::npos);
  EXPECT_TRUE(SafetensorsFile::open(dir.file("a.safetensors")).metadata().empty());
}

TEST(Safetensors, NullMetadataIsAccepted) {
  TempDir dir;
  testing::write_file(dir.file("m.safetensors"),
                      raw_file(R"({"__metadata__":null,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "xy"));
  auto f = SafetensorsFile::open(dir.file("m.safetensors"));
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.tensor("a")[1].item<uint8_t>(), 'y');
}

TEST(Safetensors, WriterRefusesMetadataAsTensorName) {
  TempDir dir;
  EXPECT_TRUE(throws_error(
      [&] {
        save_safetensors(dir.file("x.safetensors"), {{"__metadata__", torch::ones(1)}});
      },
      {dir.file("x.safetensors"), "__metadata__"}));
  EXPECT_FALSE(fs::exists(dir.file("x.safetensors")));
}

TEST(Safetensors, ZeroSizeTensorsAnywhere) {
  TempDir dir;
  // Zero-size tensors share their offset with a neighbour; that is not an overlap.
  testing::write_file(dir.file("z.safetensors"), raw_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                                          R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                                          R"("c":{"dtype":"I64","shape":[3,0],"data_offsets":[2,2]}})",
                                                          "ab"));
  auto f = SafetensorsFile::open(dir.file("z.safetensors"));
  EXPECT_EQ(f.tensor("a").numel(), 0);
  EXPECT_EQ(f.tensor("c").sizes(), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(f.tensor("b")[0].item<uint8_t>(), 'a');
}

TEST(Safetensors, MisalignedDataIsCopiedCorrectly) {
  TempDir dir;
  // Padding the header so the data starts at 5 mod 8 leaves the F32 values misaligned.
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while ((8 + header.size()) % 8 != 5) header += ' ';
  const float values[2] = {1.5f, -2.25f};
  testing::write_file(dir.file("m.safetensors"),
                      raw_file(header, std::string(reinterpret_cast<const char*>(values), sizeof values)));
  auto t = SafetensorsFile::open(dir.file("m.safetensors")).tensor("a");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 4, 0u);
  EXPECT_TRUE(bit_equal(t, torch::tensor({1.5f, -2.25f}), "misaligned"));
}

TEST(Safetensors, WritingToAMappedTensorLeavesTheFileAlone) {
  TempDir dir;
  save_safetensors(dir.file("w.safetensors"), {{"w", torch::arange(16, torch::kFloat32)}});
  const std::string before = testing::read_file(dir.file("w.safetensors"));
  {
    auto f = SafetensorsFile::open(dir.file("w.safetensors"));
    auto t = f.tensor("w");
    t.fill_(42);
    EXPECT_EQ(f.tensor("w")[0].item<float>(), 42);  // the mapping is shared within the process
  }
  EXPECT_EQ(testing::read_file(dir.file("w.safetensors")), before);
  EXPECT_EQ(SafetensorsFile::open(dir.file("w.safetensors")).tensor("w")[3].item<float>(), 3);
}

TEST(Safetensors, TensorOutlivesTheFileObject) {
  TempDir dir;
  save_safetensors(dir.file("k.safetensors"), {{"w", torch::arange(1000, torch::kFloat32)}});
  torch::Tensor t = SafetensorsFile::open(dir.file("k.safetensors")).tensor("w");
  EXPECT_EQ(t.sum().item<float>(), 499500);
}

TEST(Safetensors, ReadsEveryGoldenFile) {
  const std::string root = testing::golden_root();
  ASSERT_TRUE(fs::is_directory(root)) << "golden set not found at " << root;
  nlohmann::json check = nlohmann::json::parse(testing::read_file(root + "/CHECK.json"));
  const auto& expected = check.at("safetensors_files_checked_against_spec_reader");
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  TempDir dir;
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    auto f = SafetensorsFile::open(file);
    auto tensors = f.tensors();
    const std::string rel = fs::relative(file, root).string();
    if (expected.contains(rel)) {
      EXPECT_EQ(tensors.size(), expected[rel].at("tensors").get<size_t>());
      using Metadata = std::map<std::string, std::string>;
      if (expected[rel].contains("metadata") && expected[rel]["metadata"].is_object()) {
        EXPECT_EQ(f.metadata(), expected[rel]["metadata"].get<Metadata>());
      }
      EXPECT_EQ(fs::file_size(file), expected[rel].at("bytes").get<uint64_t>());
    }
    // Our writer must reproduce what we read, bit for bit.
    save_safetensors(dir.file("copy.safetensors"), tensors, f.metadata());
    auto copy = SafetensorsFile::open(dir.file("copy.safetensors"));
    EXPECT_EQ(copy.metadata(), f.metadata());
    for (const auto& [name, t] : tensors) EXPECT_TRUE(bit_equal(copy.tensor(name), t, name));
  }
  std::cout << "[golden] read " << files.size() << " safetensors files" << std::endl;
}

struct Corruption {
  const char* what;
  std::string bytes;
  const char* expected;
};

std::vector<Corruption> corruptions() {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\x01');
  auto entry = [](const std::string& fields) { return "{\"a\":{" + fields + "}}"; };
  return {
      {"empty file", "", "shorter than the 8-byte header length"},
      {"truncated data", raw_file(ok_header, data.substr(0, 5)), "outside the data section"},
      {"header length beyond the file", raw_file(ok_header, data, ok_header.size() + data.size() + 1),
       "runs past the end"},
      {"header length absurdly large", raw_file(ok_header, data, uint64_t{1} << 60), "implausibly large"},
      {"offsets outside the data", raw_file(entry(R"("dtype":"F32","shape":[2],"data_offsets":[8,16])"), data),
       "outside the data section"},
      {"overlapping offsets",
       raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                std::string(12, '\0')),
       "overlap"},
      {"gap between tensors",
       raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                std::string(12, '\0')),
       "gap of 4 bytes"},
      {"trailing bytes", raw_file(ok_header, data + "junk"), "4 bytes after the last tensor"},
      {"unknown dtype", raw_file(entry(R"("dtype":"F8","shape":[8],"data_offsets":[0,8])"), data), "unknown dtype F8"},
      {"shape/size mismatch", raw_file(entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), data),
       "holds 8 bytes but its shape and dtype need 12"},
      {"invalid JSON", raw_file(R"({"a":{"dtype":"F32",)", data), "not valid JSON"},
      {"header not an object", raw_file("[1, 2]", data), "not a JSON object"},
      {"negative dims", raw_file(entry(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), data), "negative"},
      {"fractional dims", raw_file(entry(R"("dtype":"F32","shape":[2.5],"data_offsets":[0,8])"), data),
       "non-integer dimension"},
      {"overflowing shape",
       raw_file(entry(R"("dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,8])"), data),
       "shape overflows"},
      {"huge dimension beside a zero",
       raw_file(entry(R"("dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0])"), ""),
       "shape overflows"},
      {"begin after end", raw_file(entry(R"("dtype":"F32","shape":[0],"data_offsets":[8,0])"), data), "begin > end"},
      {"missing data_offsets", raw_file(entry(R"("dtype":"F32","shape":[2])"), data), "data_offsets"},
      {"non-string metadata", raw_file(R"({"__metadata__":{"n":1}})", ""), "is not a string"},
  };
}

TEST(Safetensors, EveryCorruptionIsAClearError) {
  TempDir dir;
  for (const auto& c : corruptions()) {
    SCOPED_TRACE(c.what);
    const std::string path = dir.file("bad.safetensors");
    testing::write_file(path, c.bytes);
    EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(path); }, {path, "invalid safetensors file", c.expected}));
  }
}

TEST(Safetensors, MissingFileAndUnknownTensorAreClearErrors) {
  TempDir dir;
  EXPECT_TRUE(throws_error([&] { SafetensorsFile::open(dir.file("nope.safetensors")); },
                           {dir.file("nope.safetensors"), "cannot open"}));
  save_safetensors(dir.file("a.safetensors"), {{"x", torch::ones(1)}});
  auto f = SafetensorsFile::open(dir.file("a.safetensors"));
  EXPECT_TRUE(throws_error([&] { f.tensor("y"); }, {dir.file("a.safetensors"), "no tensor named 'y'"}));
}

TEST(Safetensors, WriterRejectsUnsupportedDtypes) {
  TempDir dir;
  EXPECT_TRUE(throws_error(
      [&] {
        save_safetensors(dir.file("c.safetensors"), {{"c", torch::zeros({2}, torch::kComplexFloat)}});
      },
      {dir.file("c.safetensors"), "'c'", "cannot be saved"}));
}

}  // namespace
}  // namespace medvqa::io
