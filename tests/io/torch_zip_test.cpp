// torch.save checkpoints written by real PyTorch (Debian's python3-torch), read by our loader.
#include "io/torch_zip.h"

#include <algorithm>
#include <filesystem>

#include "helpers.h"
#include "io/convert.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "python.h"
#include "testing/testing.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;
using testing::bit_equal;
using testing::throws_error;

// Each checkpoint X.pt comes with X.expected.safetensors, the same tensors written by the
// prelude's independent safetensors writer, so comparisons need no second reader of ours.
const char* const kWriteCheckpoints = R"(
d, golden = sys.argv[1], sys.argv[2]

base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd = collections.OrderedDict()
sd['f32'] = base
sd['transposed'] = base.t()
sd['corner'] = base[1:, 1:]
sd['f16'] = (torch.arange(6, dtype=torch.float16) / 4 - 0.3).reshape(2, 3)
sd['bf16'] = torch.arange(6, dtype=torch.bfloat16) * 0.37
sd['f64'] = torch.arange(3, dtype=torch.float64) / 3
sd['i64'] = torch.tensor([-(2 ** 40), 0, 7])
sd['i32'] = torch.tensor([-5, 5], dtype=torch.int32)
sd['i16'] = torch.tensor([-300, 300], dtype=torch.int16)
sd['i8'] = torch.tensor([-7, 7], dtype=torch.int8)
sd['u8'] = torch.tensor([0, 255], dtype=torch.uint8)
sd['bool'] = torch.tensor([True, False, True])
sd['scalar'] = torch.tensor(2.5)
sd['empty'] = torch.zeros(0, 3)
sd['param'] = torch.nn.Parameter(torch.full((2,), 3.0))
sd['tail'] = torch.arange(10)[4:]
torch.save(sd, d + '/mixed.pt')
save_st(d + '/mixed.expected.safetensors', sd)

torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.BatchNorm1d(3),
                        torch.nn.Embedding(5, 3).half())
torch.save(m.state_dict(), d + '/module.pt')
save_st(d + '/module.expected.safetensors', m.state_dict())

small = collections.OrderedDict(w=torch.ones(2, 2), b=torch.zeros(2))
torch.save({'epoch': 3, 'state_dict': small, 'optimizer': {'lr': 0.1}}, d + '/wrapped.pt')
save_st(d + '/wrapped.expected.safetensors', small)
torch.save({'w': torch.ones(1), 'step': 5}, d + '/not_a_state_dict.pt')
torch.save(small, d + '/legacy.pt', _use_new_zipfile_serialization=False)

# A checkpoint saved from a GPU names its storages' location "cuda:0"; it must still load on a CPU box.
real_location_tag = torch.serialization.location_tag
torch.serialization.location_tag = lambda storage: 'cuda:0'
torch.save(small, d + '/cuda.pt')
torch.serialization.location_tag = real_location_tag

# The same archive rewritten by Python's zipfile: deflated, and with ZIP64 records throughout
# (zipfile switches to ZIP64 past ZIP64_LIMIT). Its members are also no longer 64-byte aligned.
def rewrite(src, dst, method, zip64=False):
    limit = zipfile.ZIP64_LIMIT
    if zip64:
        zipfile.ZIP64_LIMIT = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', compression=method) as zout:
        for info in zin.infolist():
            with zout.open(info.filename, 'w', force_zip64=zip64) as member:
                member.write(zin.read(info.filename))
    zipfile.ZIP64_LIMIT = limit
rewrite(d + '/mixed.pt', d + '/mixed_deflated.pt', zipfile.ZIP_DEFLATED)
rewrite(d + '/mixed.pt', d + '/mixed_zip64.pt', zipfile.ZIP_STORED, zip64=True)
rewrite(d + '/mixed.pt', d + '/mixed_zip64_deflated.pt', zipfile.ZIP_DEFLATED, zip64=True)

# A pickle that would run a shell command if loaded by a trusting unpickler.
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + d + '/pwned',))
with zipfile.ZipFile(d + '/evil.pt', 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps(collections.OrderedDict(w=Evil()), protocol=2))
    z.writestr('archive/version', '3\n')
torch.save({'w': torch.ones(1), 'f': torch.nn.functional.relu}, d + '/function.pt')

# The golden models as torch.save checkpoints.
os.makedirs(d + '/golden', exist_ok=True)
for name in ['bloom/bloom_a/model.safetensors', 'bloom/bloom_b/model.safetensors',
             'lora/adapter/adapter_model.safetensors', 'qformer/model.safetensors',
             'vit/open_clip_model.safetensors']:
    torch.save(load_st(golden + '/' + name), d + '/golden/' + name.replace('/', '_') + '.pt')
)";

class TorchZip : public ::testing::Test {
 protected:
  // One Python run writes every file; later tests reuse them (a failure is reported by each test).
  static const std::string& dir() {
    static testing::TempDir tmp;
    static const std::string error = [] {
      try {
        testing::run_python(kWriteCheckpoints, {tmp.path(), testing::golden_root()});
        return std::string();
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    }();
    if (!error.empty()) throw std::runtime_error(error);
    return tmp.path();
  }
  static std::string file(const std::string& name) { return dir() + "/" + name; }

  static void expect_matches(const std::string& checkpoint, const std::string& expected) {
    StateDict got = load_torch_zip(file(checkpoint));
    auto want = SafetensorsFile::open(file(expected)).tensors();
    ASSERT_EQ(got.size(), want.size()) << checkpoint;
    for (const auto& [name, t] : want) {
      ASSERT_TRUE(got.count(name)) << checkpoint << " lacks " << name;
      EXPECT_TRUE(bit_equal(got[name], t, checkpoint + ":" + name));
      EXPECT_EQ(got[name].device(), torch::kCPU);
    }
  }
};

TEST_F(TorchZip, ReadsEveryDtypeAndView) { expect_matches("mixed.pt", "mixed.expected.safetensors"); }

TEST_F(TorchZip, ViewsKeepTheirStridesAndShareStorage) {
  StateDict sd = load_torch_zip(file("mixed.pt"));
  const auto& base = sd.at("f32");
  const auto& transposed = sd.at("transposed");
  const auto& corner = sd.at("corner");
  EXPECT_EQ(transposed.strides(), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(corner.storage_offset(), 5);
  EXPECT_TRUE(transposed.is_alias_of(base));
  EXPECT_TRUE(corner.is_alias_of(base));
  base[1][1] = 100.0f;  // writes through one view show in the others, as in PyTorch
  EXPECT_EQ(transposed[1][1].item<float>(), 100.0f);
  EXPECT_EQ(corner[0][0].item<float>(), 100.0f);
  EXPECT_EQ(sd.at("tail").storage_offset(), 4);
  EXPECT_EQ(sd.at("scalar").dim(), 0);
}

TEST_F(TorchZip, StoredTensorsAreMappedAndWritesStayPrivate) {
  const std::string before = testing::read_file(file("mixed.pt"));
  {
    StateDict sd = load_torch_zip(file("mixed.pt"));
    sd.at("f32").fill_(-1);
    sd.at("i64").fill_(-1);
  }
  EXPECT_EQ(testing::read_file(file("mixed.pt")), before);
  EXPECT_EQ(load_torch_zip(file("mixed.pt")).at("f32")[2][3].item<float>(), 11.0f);
}

TEST_F(TorchZip, ReadsAModuleStateDict) { expect_matches("module.pt", "module.expected.safetensors"); }

TEST_F(TorchZip, UnwrapsATrainingCheckpoint) { expect_matches("wrapped.pt", "wrapped.expected.safetensors"); }

TEST_F(TorchZip, IgnoresTheSavedDevice) { expect_matches("cuda.pt", "wrapped.expected.safetensors"); }

TEST_F(TorchZip, ReadsDeflatedAndZip64Archives) {
  expect_matches("mixed_deflated.pt", "mixed.expected.safetensors");
  expect_matches("mixed_zip64.pt", "mixed.expected.safetensors");
  expect_matches("mixed_zip64_deflated.pt", "mixed.expected.safetensors");
  StateDict sd = load_torch_zip(file("mixed_zip64.pt"));
  EXPECT_TRUE(sd.at("transposed").is_alias_of(sd.at("f32")));
}

TEST_F(TorchZip, RefusesToRunCode) {
  EXPECT_TRUE(throws_error([&] { load_torch_zip(file("evil.pt")); },
                           {"refusing to load", file("evil.pt"), "system is not allowed in a state dict"}));
  EXPECT_FALSE(fs::exists(file("pwned")));
  EXPECT_TRUE(throws_error([&] { load_torch_zip(file("function.pt")); },
                           {"refusing to load", file("function.pt"), "torch.nn.functional.relu is not allowed"}));
}

TEST_F(TorchZip, RejectsNonTensorEntries) {
  EXPECT_TRUE(throws_error([&] { load_torch_zip(file("not_a_state_dict.pt")); },
                           {file("not_a_state_dict.pt"), "entry 'step' is a int, not a tensor"}));
}

TEST_F(TorchZip, RejectsTheLegacyFormat) {
  EXPECT_TRUE(throws_error([&] { load_torch_zip(file("legacy.pt")); },
                           {file("legacy.pt"), "legacy torch.save format not supported; re-save with torch>=1.6"}));
}

TEST_F(TorchZip, GoldenModelsMatchTheirSafetensorsBitForBit) {
  const std::vector<std::string> names = {"bloom/bloom_a/model.safetensors", "bloom/bloom_b/model.safetensors",
                                          "lora/adapter/adapter_model.safetensors", "qformer/model.safetensors",
                                          "vit/open_clip_model.safetensors"};
  for (const auto& name : names) {
    std::string pt = name;
    std::replace(pt.begin(), pt.end(), '/', '_');
    StateDict got = load_torch_zip(file("golden/" + pt + ".pt"));
    auto want = SafetensorsFile::open(testing::golden_root() + "/" + name).tensors();
    ASSERT_EQ(got.size(), want.size()) << name;
    for (const auto& [key, t] : want) {
      ASSERT_TRUE(got.count(key)) << name << " lacks " << key;
      EXPECT_TRUE(bit_equal(got.at(key), t, name + ":" + key));
    }
  }
}

TEST_F(TorchZip, ConvertsToSafetensorsUnsharingStorages) {
  testing::TempDir out;
  convert_checkpoint(file("mixed.pt"), out.file("mixed.safetensors"));
  auto converted = SafetensorsFile::open(out.file("mixed.safetensors"));
  EXPECT_EQ(converted.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  auto want = SafetensorsFile::open(file("mixed.expected.safetensors"));
  ASSERT_EQ(converted.names().size(), want.names().size());
  for (const auto& name : want.names()) {
    EXPECT_TRUE(bit_equal(converted.tensor(name), want.tensor(name), name));
    // Each view got its own bytes: "corner" is 6 floats, not the 12 of the storage it came from.
    EXPECT_EQ(converted.entry(name).end - converted.entry(name).begin, want.entry(name).end - want.entry(name).begin);
  }
  // Converting a safetensors file again changes nothing but the metadata.
  convert_checkpoint(out.file("mixed.safetensors"), out.file("again.safetensors"));
  EXPECT_EQ(testing::read_file(out.file("again.safetensors")), testing::read_file(out.file("mixed.safetensors")));
}

}  // namespace
}  // namespace medvqa::io
