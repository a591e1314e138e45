#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/error.h"

namespace medvqa::io {

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": write failed: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(getpid()))).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot create temporary file " + tmp + ": " + std::strerror(errno));
  try {
    write(fd);
    if (::fsync(fd) != 0) throw Error(path + ": fsync failed: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw Error(path + ": close failed: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(path + ": rename failed: " + std::strerror(err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  write_file_atomically(path, [&](int fd) { write_all(fd, contents.data(), contents.size(), path); });
}

namespace {

void fsync_tree(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
}

}  // namespace

void replace_directory(const std::filesystem::path& dir,
                       const std::function<void(const std::filesystem::path&)>& write) {
  namespace fs = std::filesystem;
  fs::path tmp = dir.string() + ".tmp", old = dir.string() + ".old";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write(tmp);
  fsync_tree(tmp);
  if (fs::exists(dir)) {
    fs::remove_all(old);
    fs::rename(dir, old);
  }
  fs::rename(tmp, dir);
  fs::remove_all(old);
}

std::filesystem::path existing_directory(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir)) return dir;
  std::filesystem::path old = dir.string() + ".old";
  return std::filesystem::exists(old) ? old : std::filesystem::path();
}

}  // namespace medvqa::io
