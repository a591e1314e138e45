#pragma once
#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace medvqa::serve {

// What httplib does not bound while it reads a request. It times out single reads only (5 s
// without a byte), so a client that sends a byte every few seconds (slowloris) holds a worker
// thread for hours, and `http_threads` of them hold the whole pool; and it keeps every header
// line, however many, so a client streaming headers fills memory at network speed. Here each
// connection gets `time_limit` from its accept, its last request's headers or its last response
// to the next step (headers read, body read, response sent), and `header_bytes` for the headers of
// each request; past either the socket is shut down and the worker's descriptor replaced by one
// on /dev/null, so that its next read fails whatever the client still sends, and the worker is
// free again. A handler at work (an answer being computed) is never cut off, nor a connection
// still queued for a worker.
//
// httplib hands a worker only a closure over the accepted socket, so the task queue finds the
// socket itself: when a job is queued, right after accept on the listening thread, it is the one
// socket bound to the server's port that the queue does not know yet (Linux: /proc/self/fd). The
// bytes httplib has read from a socket come from the kernel (TCP_INFO less the unread queue:
// counting bytes received would count a body that arrived before its headers were parsed).
class ConnectionLimits {
 public:
  ConnectionLimits(std::chrono::milliseconds time_limit, uint64_t header_bytes);
  ~ConnectionLimits();
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // A pool of `threads` workers for httplib::Server::new_task_queue whose connections on `port`
  // these limits watch.
  httplib::TaskQueue* task_queue(size_t threads, int port);

  // Called on the worker thread of the current connection (no-ops on any other thread), as the
  // request goes through its steps:
  void headers_read();
  void handler_began();  // no limit until handler_ended()
  void handler_ended();
  void response_sent();

 private:
  enum class Step { queued, headers, body, handler, response };
  struct Connection {
    int worker_fd = -1;  // httplib's descriptor: another file once httplib has closed it
    int socket = -1;     // a duplicate: stays this socket's until we close it
    ino_t inode = 0;
    Step step = Step::queued;
    std::chrono::steady_clock::time_point since;
    uint64_t read_before = 0;  // bytes read from the socket when the step began
    bool cut = false;
  };
  class Queue;

  // The accepted socket on `port` not yet watched, registered; nullptr when there is none.
  std::shared_ptr<Connection> watch_new_connection(int port);
  void forget(const std::shared_ptr<Connection>& c);
  void enter(Step step);
  void cut(Connection& c);
  void watch();

  static thread_local Connection* current_;  // the connection this worker thread is serving
  const std::chrono::milliseconds time_limit_;
  const uint64_t header_bytes_;
  const int dev_null_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<ino_t, std::shared_ptr<Connection>> connections_;  // by socket inode
  std::thread watcher_;
};

}  // namespace medvqa::serve
