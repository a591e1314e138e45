#pragma once
#include <cstdint>

// What the kernel says about a connected TCP socket, for ConnectionLimits (Linux).
namespace medvqa::serve {

int local_port(int fd);            // -1 when fd is not an IPv4/IPv6 socket
bool has_peer(int fd);             // connected (an accepted socket, not a listening one)
uint64_t bytes_received(int fd);   // payload bytes received so far (TCP_INFO); 0 when unknown

}  // namespace medvqa::serve
