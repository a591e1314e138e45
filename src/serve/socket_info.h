#pragma once
#include <cstdint>

// What the kernel says about a connected TCP socket, for ConnectionLimits (Linux).
namespace medvqa::serve {

int local_port(int fd);            // -1 when fd is not an IPv4/IPv6 socket
bool has_peer(int fd);             // connected (an accepted socket, not a listening one)
// Payload bytes the application has read so far: received (TCP_INFO) less those still waiting in
// the receive queue (FIONREAD); 0 when unknown. Never more than the true count at return.
uint64_t bytes_read(int fd);

}  // namespace medvqa::serve
