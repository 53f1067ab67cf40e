// agent/net/socket_address.h — an IpAddress and port as a sockaddr for bind/connect.
//
// The API listener, the metrics listener and `conntrail status` (which reads
// the metrics endpoint) all turn a configured address into a sockaddr; this
// is the one place that knows the layout of sockaddr_in and sockaddr_in6.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "core/ip_address.h"

namespace conntrail::agent::net {

// Fills `out` and returns the length to pass to bind()/connect().
socklen_t to_sockaddr(const IpAddress& address, std::uint16_t port, sockaddr_storage& out) noexcept;

}  // namespace conntrail::agent::net
