#include "io/atomic_file.h"

#include <filesystem>

#include "helpers.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "testing/testing.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;

size_t entries_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WritesAndReplaces) {
  testing::TempDir dir;
  write_file_atomically(dir.file("a.txt"), "first");
  write_file_atomically(dir.file("a.txt"), "second");
  EXPECT_EQ(testing::read_file(dir.file("a.txt")), "second");
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(AtomicFile, FailingWriterLeavesOldFileAndNoTemporary) {
  testing::TempDir dir;
  write_file_atomically(dir.file("a.txt"), "old contents");
  EXPECT_THROW(write_file_atomically(dir.file("a.txt"),
                                     [&](int fd) {
                                       write_all(fd, "partial", 7, dir.file("a.txt"));
                                       throw Error("writer gave up");
                                     }),
               Error);
  EXPECT_EQ(testing::read_file(dir.file("a.txt")), "old contents");
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(AtomicFile, FailingSafetensorsSaveLeavesOldFile) {
  testing::TempDir dir;
  save_safetensors(dir.file("m.safetensors"), {{"a", torch::ones(2)}});
  const std::string before = testing::read_file(dir.file("m.safetensors"));
  EXPECT_THROW(save_safetensors(dir.file("m.safetensors"),
                                {{"b", torch::ones(2)}, {"c", torch::zeros(2, torch::kComplexFloat)}}),
               Error);
  EXPECT_EQ(testing::read_file(dir.file("m.safetensors")), before);
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(AtomicFile, UnwritableDirectoryIsAClearError) {
  testing::TempDir dir;
  EXPECT_TRUE(testing::throws_error([&] { write_file_atomically(dir.file("no/such/dir/a.txt"), "x"); },
                                    {dir.file("no/such/dir/a.txt"), "cannot create temporary file"}));
}

}  // namespace
}  // namespace medvqa::io
