#include "serve/connection_limits.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "serve/socket_info.h"

namespace medvqa::serve {

thread_local ConnectionLimits::Connection* ConnectionLimits::current_ = nullptr;

// httplib's pool, each job wrapped so that its worker knows and finally forgets its connection.
class ConnectionLimits::Queue : public httplib::TaskQueue {
 public:
  Queue(ConnectionLimits& limits, size_t threads, int port) : limits_(limits), pool_(threads), port_(port) {}

  void enqueue(std::function<void()> job) override {
    auto connection = limits_.watch_new_connection(port_);
    pool_.enqueue([this, connection, job = std::move(job)] {
      current_ = connection.get();
      limits_.enter(Step::headers);
      job();
      current_ = nullptr;
      if (connection) limits_.forget(connection);
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  ConnectionLimits& limits_;
  httplib::ThreadPool pool_;
  const int port_;
};

ConnectionLimits::ConnectionLimits(std::chrono::milliseconds time_limit, uint64_t header_bytes)
    : time_limit_(time_limit),
      header_bytes_(header_bytes),
      dev_null_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      watcher_([this] { watch(); }) {}

ConnectionLimits::~ConnectionLimits() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  watcher_.join();
  for (auto& [inode, c] : connections_) ::close(c->socket);
  ::close(dev_null_);
}

httplib::TaskQueue* ConnectionLimits::task_queue(size_t threads, int port) { return new Queue(*this, threads, port); }

std::shared_ptr<ConnectionLimits::Connection> ConnectionLimits::watch_new_connection(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<Connection> found;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    struct stat st {};
    if (*end != '\0' || fd == ::dirfd(dir) || ::fstat(int(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (connections_.count(st.st_ino) || local_port(int(fd)) != port || !has_peer(int(fd))) continue;
    const int socket = ::dup(int(fd));
    if (socket < 0) break;
    found = std::make_shared<Connection>();
    found->worker_fd = int(fd);
    found->socket = socket;
    found->inode = st.st_ino;
    found->since = std::chrono::steady_clock::now();
    connections_[st.st_ino] = found;
    break;
  }
  ::closedir(dir);
  return found;
}

void ConnectionLimits::forget(const std::shared_ptr<Connection>& c) {
  std::lock_guard<std::mutex> lock(mutex_);
  ::close(c->socket);
  connections_.erase(c->inode);
}

void ConnectionLimits::enter(Step step) {
  if (current_ == nullptr) return;
  const uint64_t already = step == Step::headers ? bytes_read(current_->socket) : 0;
  std::lock_guard<std::mutex> lock(mutex_);
  current_->step = step;
  current_->since = std::chrono::steady_clock::now();
  current_->read_before = already;
}

void ConnectionLimits::headers_read() { enter(Step::body); }
void ConnectionLimits::handler_began() { enter(Step::handler); }
void ConnectionLimits::handler_ended() { enter(Step::response); }
void ConnectionLimits::response_sent() { enter(Step::headers); }

void ConnectionLimits::watch() {
  // Often enough that a header flood is cut after tens of megabytes at loopback speed, not
  // gigabytes; the time limit is kept to within a quarter of itself.
  const auto period = std::clamp(time_limit_ / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [inode, c] : connections_) {
      if (c->step == Step::queued || c->step == Step::handler || c->cut) continue;
      const bool late = now - c->since >= time_limit_;
      const bool flood = c->step == Step::headers && bytes_read(c->socket) - c->read_before > header_bytes_;
      if (late || flood) cut(*c);
    }
  }
}

void ConnectionLimits::cut(Connection& c) {
  c.cut = true;
  // httplib closes its descriptor only when the connection's job ends, and this watcher never
  // cuts a connection at the moment its job ends on its own (httplib's keep-alive timeout is
  // longer than ours); the inode check covers a descriptor already closed and reused.
  struct stat st {};
  if (::fstat(c.worker_fd, &st) != 0 || st.st_ino != c.inode) return;
  // After the swap httplib's reads and writes fail at once (not a socket) even if the client
  // goes on sending, and the shutdown wakes a worker waiting in poll on the socket.
  ::dup2(dev_null_, c.worker_fd);
  ::shutdown(c.socket, SHUT_RDWR);
}

}  // namespace medvqa::serve
