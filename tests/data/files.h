#pragma once
// Small inputs the reader tests write into a TempDir.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace medvqa::data::test_files {

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Empty files standing in for images: the readers only check that they exist.
inline void touch_images(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) write_file(dir + "/" + name, "");
}

}  // namespace medvqa::data::test_files
