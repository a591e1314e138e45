#include "serve/socket_info.h"

// linux/tcp.h has tcpi_bytes_received, which glibc's netinet/tcp.h lacks; the two cannot be
// included together, hence this file apart.
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>

namespace medvqa::serve {

int local_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return -1;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return -1;
}

bool has_peer(int fd) {
  sockaddr_storage peer{};
  socklen_t size = sizeof peer;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) == 0;
}

uint64_t bytes_read(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return 0;
  // Queried after the received count: bytes arriving in between only make the result smaller.
  int unread = 0;
  if (::ioctl(fd, FIONREAD, &unread) != 0 || unread < 0) return 0;
  return info.tcpi_bytes_received - std::min<uint64_t>(info.tcpi_bytes_received, uint64_t(unread));
}

}  // namespace medvqa::serve
