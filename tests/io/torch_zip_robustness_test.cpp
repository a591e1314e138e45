// Damaged and hostile torch.save archives, built byte by byte so no Python is needed.
#include <cstring>

#include "helpers.h"
#include "io/error.h"
#include "io/pickle.h"
#include "io/torch_zip.h"
#include "testing/testing.h"
#include "zip_builder.h"

namespace medvqa::io {
namespace {

using testing::build_zip;
using testing::TempDir;
using testing::tensor_pickle;
using testing::throws_error;
using testing::ZipEntry;
using namespace std::string_literals;  // pickles hold NUL bytes

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

// {"w": FloatStorage of 4 elements viewed whole}, the record holding `data`.
std::vector<ZipEntry> checkpoint(const std::string& data = floats({1, 2, 3, 4}), bool deflate = false) {
  return {{"archive/data.pkl", tensor_pickle("w", "FloatStorage", 4, {4}, {1}, 0), deflate},
          {"archive/data/0", data, deflate},
          {"archive/version", "3\n", deflate}};
}

// A state dict holding whatever `pickle` builds, with no storages.
std::vector<ZipEntry> pickle_only(const std::string& pickle) { return {{"archive/data.pkl", pickle}}; }

class TorchZipRobustness : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    testing::write_file(path, bytes);
    return path;
  }
  ::testing::AssertionResult fails(const std::string& bytes, const std::vector<std::string>& parts) {
    write(bytes);
    std::vector<std::string> all = parts;
    all.push_back(path);
    return throws_error([&] { load_torch_zip(path); }, all);
  }
  TempDir dir;
  std::string path = dir.file("model.bin");
};

TEST_F(TorchZipRobustness, BuiltArchiveLoads) {
  for (bool deflate : {false, true})
    for (bool zip64 : {false, true}) {
      write(build_zip(checkpoint(floats({1, 2, 3, 4}), deflate), zip64));
      StateDict sd = load_torch_zip(path);
      ASSERT_EQ(sd.size(), 1u);
      EXPECT_TRUE(torch::equal(sd.at("w"), torch::tensor({1.f, 2.f, 3.f, 4.f})));
      // An empty tensor's record is empty, which deflate still encodes as a short stream.
      write(build_zip({{"archive/data.pkl", tensor_pickle("e", "HalfStorage", 0, {0, 3}, {3, 1}, 0), deflate},
                       {"archive/data/0", "", deflate}},
                      zip64));
      EXPECT_EQ(load_torch_zip(path).at("e").sizes(), (std::vector<int64_t>{0, 3}));
    }
}

TEST_F(TorchZipRobustness, NotAZip) {
  EXPECT_TRUE(fails("hello, world\n", {"not a torch.save checkpoint (not a zip archive)"}));
  EXPECT_TRUE(fails("", {"not a zip archive"}));
}

TEST_F(TorchZipRobustness, LegacyPickleStream) {
  EXPECT_TRUE(fails("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.",
                    {"legacy torch.save format not supported; re-save with torch>=1.6"}));
}

TEST_F(TorchZipRobustness, TruncatedZip) {
  const std::string zip = build_zip(checkpoint());
  EXPECT_TRUE(fails(zip.substr(0, zip.size() - 10), {"invalid zip archive", "no end-of-central-directory"}));
  EXPECT_TRUE(fails(zip.substr(0, 40), {"invalid zip archive"}));
}

TEST_F(TorchZipRobustness, EveryPrefixAndEveryBitFlipFailsCleanly) {
  // Whatever the damage, the loader either succeeds or throws medvqa::Error: no crash, no other exception.
  for (bool deflate : {false, true}) {
    const std::string zip = build_zip(checkpoint(floats({1, 2, 3, 4}), deflate), deflate);
    int errors = 0;
    for (size_t n = 0; n < zip.size(); ++n) {
      write(zip.substr(0, n));
      try {
        load_torch_zip(path);
      } catch (const Error&) {
        ++errors;
      }
    }
    EXPECT_EQ(errors, static_cast<int>(zip.size()));  // no strict prefix is a whole archive
    for (size_t i = 0; i < zip.size(); ++i) {
      std::string damaged = zip;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << (i % 8)));
      write(damaged);
      try {
        load_torch_zip(path);
      } catch (const Error&) {
      }
    }
  }
}

TEST_F(TorchZipRobustness, MissingDataPkl) {
  EXPECT_TRUE(fails(build_zip({{"archive/version", "3\n"}}), {"no <archive>/data.pkl"}));
}

TEST_F(TorchZipRobustness, MissingRecord) {
  auto entries = checkpoint();
  entries.erase(entries.begin() + 1);
  EXPECT_TRUE(fails(build_zip(entries), {"record 'archive/data/0' is missing"}));
}

TEST_F(TorchZipRobustness, RecordTooShort) {
  EXPECT_TRUE(fails(build_zip(checkpoint(floats({1, 2, 3}))), {"'archive/data/0' holds 12 bytes, too short for 4"}));
}

TEST_F(TorchZipRobustness, ViewBeyondItsStorage) {
  auto pkl = [](std::vector<int> size, std::vector<int> stride, int offset) {
    return build_zip({{"archive/data.pkl", tensor_pickle("w", "FloatStorage", 4, size, stride, offset)},
                      {"archive/data/0", floats({1, 2, 3, 4})}});
  };
  EXPECT_TRUE(fails(pkl({5}, {1}, 0), {"reaches past its storage of 4 elements"}));
  EXPECT_TRUE(fails(pkl({2}, {3}, 1), {"reaches past its storage"}));
  EXPECT_TRUE(fails(pkl({2, 2}, {1}, 0), {"size and stride have different lengths"}));
  write(pkl({0, 9}, {9, 1}, 4));  // an empty view may sit at the storage's end
  EXPECT_EQ(load_torch_zip(path).at("w").numel(), 0);
  write(pkl({2, 2}, {1, 2}, 0));
  EXPECT_TRUE(torch::equal(load_torch_zip(path).at("w"), torch::tensor({1.f, 3.f, 2.f, 4.f}).reshape({2, 2})));
}

TEST_F(TorchZipRobustness, DisallowedGlobals) {
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x02"
                                          "cposix\nsystem\n(X\x02\x00\x00\x00lstR."s)),
                    {"refusing to load", "global posix.system is not allowed in a state dict"}));
  // Protocol 4's STACK_GLOBAL is checked the same way.
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x04\x8c\x08"
                                          "builtins\x8c\x04"
                                          "eval\x93."s)),
                    {"refusing to load", "global builtins.eval is not allowed"}));
  // Even an allowed module's other names are refused.
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x02"
                                          "ctorch\nload\n."s)),
                    {"global torch.load is not allowed"}));
}

TEST_F(TorchZipRobustness, MalformedPickles) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x80\x02s."s, "stack underflow"},
      {"\x80\x02\xff"s, "unknown or unsupported pickle opcode 0xff"},
      {"\x80\x02X\x10\x00\x00\x00"
       "ab"s,
       "truncated pickle"},
      {"\x80\x02}"s, "without STOP"},
      {"\x80\x02h\x05."s, "memo entry 5 was never stored"},
      {"\x80\x02(}."s, "values left on the stack"},
      {"\x80\x02t."s, "no MARK"},
      {"\x80\x02"
       "ctorch\nFloatStorage\n)R."s,
       "cannot be called"},
      {"\x80\x02}K\x01R."s, "REDUCE calls a dict"},
      {"\x80\x02}X\x01\x00\x00\x00kQ."s, "persistent id is not"},
      {"\x80\x02\x8a\x09"
       "123456789."s,
       "does not fit in 64 bits"},
      {"\x80\x09}."s, "unsupported pickle protocol 9"},
      {"\x80\x02]K\x01"
       "b."s,
       "BUILD on a list"},
      {"\x80\x02"
       "cposix\nsystem"s,
       "unterminated GLOBAL name"},
  };
  for (const auto& [pickle, expected] : cases) {
    SCOPED_TRACE(expected);
    EXPECT_TRUE(fails(build_zip(pickle_only(pickle)), {"(archive/data.pkl): bad pickle at byte", expected}));
  }
}

TEST_F(TorchZipRobustness, NotAStateDict) {
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x02K\x05."s)), {"holds a int, not a state dict"}));
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x02}(K\x01K\x02u."s)), {"state dict has a int key"}));
  // A dict that contains itself is still just "not a tensor", and is freed without recursion.
  EXPECT_TRUE(fails(build_zip(pickle_only("\x80\x02}q\x00(X\x01\x00\x00\x00"
                                          "ah\x00u."s)),
                    {"entry 'a' is a dict, not a tensor"}));
}

TEST(Unpickler, DecodesValues) {
  // {'x': (LONG1 -256, BININT -2, BINFLOAT 1.0, BININT2 513, True, None, [1, 2]), 'x': 7}: the
  // repeated key stays repeated for the reader to resolve. BUILD's state is dropped.
  const std::string pkl =
      "\x80\x02}q\x00(X\x01\x00\x00\x00"
      "x(\x8a\x02\x00\xff"
      "J\xfe\xff\xff\xff"
      "G\x3f\xf0\x00\x00\x00\x00\x00\x00"
      "M\x01\x02\x88N]q\x01(K\x01K\x02"
      "et\x8c\x01xK\x07u}b."s;
  PickleHooks refuse{[](Unpickler& u, const std::string& g) { u.fail("no globals: " + g); }, nullptr, nullptr};
  Unpickler u("test", reinterpret_cast<const uint8_t*>(pkl.data()), pkl.size(), refuse);
  PyValue* d = u.load();
  ASSERT_EQ(d->kind, PyValue::Kind::Dict);
  ASSERT_EQ(d->entries.size(), 2u);
  EXPECT_EQ(d->entries[1].first->str, "x");
  EXPECT_EQ(d->entries[1].second->i, 7);
  const auto& t = d->entries[0].second->items;
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0]->i, -256);
  EXPECT_EQ(t[1]->i, -2);
  EXPECT_EQ(t[2]->f, 1.0);
  EXPECT_EQ(t[3]->i, 513);
  EXPECT_EQ(t[4]->kind, PyValue::Kind::Bool);
  EXPECT_EQ(t[4]->i, 1);
  EXPECT_EQ(t[5]->kind, PyValue::Kind::None);
  ASSERT_EQ(t[6]->kind, PyValue::Kind::List);
  EXPECT_EQ(t[6]->items.size(), 2u);
}

TEST_F(TorchZipRobustness, DamagedDeflateStream) {
  auto entries = checkpoint(floats({1, 2, 3, 4}), true);
  std::string zip = build_zip(entries);
  // Flip a byte inside the deflated tensor record (it follows its 30-byte header and name).
  const size_t record = zip.find("archive/data/0") + std::strlen("archive/data/0");
  zip[record + 2] = static_cast<char>(zip[record + 2] ^ 0x55);
  write(zip);
  try {
    StateDict sd = load_torch_zip(path);
    ADD_FAILURE() << "damaged deflate stream loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'archive/data/0'"), std::string::npos) << e.what();
  }
}

TEST_F(TorchZipRobustness, BigEndianByteorderIsRefused) {
  auto entries = checkpoint();
  entries.push_back({"archive/byteorder", "big"});
  EXPECT_TRUE(fails(build_zip(entries), {"big-endian"}));
  entries.back().data = "little";
  write(build_zip(entries));
  EXPECT_EQ(load_torch_zip(path).size(), 1u);
}

}  // namespace
}  // namespace medvqa::io
