#pragma once
#include <functional>
#include <string>

namespace medvqa::io {

// Writes `path` so that a reader (or a crash at any moment) sees either the old file or the
// complete new one: write to a temporary file beside it, fsync, rename over, fsync the directory.
void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write);
void write_file_atomically(const std::string& path, const std::string& contents);

// write(2) all of [data, data+size) or throw naming `path`.
void write_all(int fd, const void* data, size_t size, const std::string& path);

}  // namespace medvqa::io
