#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace medvqa::io {

// Writes `path` so that a reader (or a crash at any moment) sees either the old file or the
// complete new one: write to a temporary file beside it, fsync, rename over, fsync the directory.
void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write);
void write_file_atomically(const std::string& path, const std::string& contents);

// Replaces directory `dir` by one that `write` fills, so that at every moment one complete version
// exists on disk: written beside it, synced, the old one moved aside, the new one moved in, the
// old one deleted. A reader that finds only `dir.old` (a crash between the two renames) uses that.
void replace_directory(const std::filesystem::path& dir,
                       const std::function<void(const std::filesystem::path&)>& write);
// `dir`, else `dir.old` where only that exists (see replace_directory), else an empty path.
std::filesystem::path existing_directory(const std::filesystem::path& dir);

// write(2) all of [data, data+size) or throw naming `path`.
void write_all(int fd, const void* data, size_t size, const std::string& path);

}  // namespace medvqa::io
