#include "agent/metrics/metrics_server.h"
#include "agent/net/socket_address.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace conntrail::metrics {

namespace {
constexpr std::size_t kMaxRequestHead = 8 * 1024;
constexpr auto kConnectionBudget = std::chrono::seconds(2);

bool send_all(int fd, const std::string& data, std::chrono::steady_clock::time_point deadline) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string response(int status, const char* reason, const std::string& body,
                     const char* content_type = "text/plain; charset=utf-8") {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      status, reason, content_type, body.size(), body);
}
}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::create(const agent::ListenAddress& a,
                                                             Registry& registry) {
  const bool v4 = a.address.is_v4();
  UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return fail(ErrorCode::kIo, fmt::format("metrics.listen: socket: {}", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (!v4) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  sockaddr_storage ss{};
  socklen_t len = agent::net::to_sockaddr(a.address, a.port, ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 16) != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("metrics.listen {}: {}", a.to_string(), std::strerror(errno)));
  }
  len = sizeof(ss);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  const std::uint16_t port = ntohs(v4 ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                      : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return fail(ErrorCode::kIo, "eventfd failed");
  auto server = std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(fd), std::move(wake), port, registry));
  server->heartbeat_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  return server;
}

void MetricsServer::stop() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
}

void MetricsServer::run() {
  while (!stopping_.load()) {
    heartbeat_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(p, 2, 1000) <= 0) continue;
    if ((p[1].revents & POLLIN) != 0) break;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.valid()) serve_one(fd.get());
  }
}

void MetricsServer::serve_one(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + kConnectionBudget;
  std::string head;
  char buf[2048];
  while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) {
      send_all(fd, response(431, "Request Header Fields Too Large", "request head too large\n"),
               deadline);
      return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
    head.append(buf, static_cast<std::size_t>(n));
  }
  if (std::min(head.find("\r\n\r\n"), head.find("\n\n")) > kMaxRequestHead) {
    send_all(fd, response(431, "Request Header Fields Too Large", "request head too large\n"),
             deadline);
    return;
  }
  const std::string line = head.substr(0, head.find_first_of("\r\n"));
  // "GET /metrics HTTP/1.1"; a query string (Prometheus may add none) is ignored.
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos ||
      !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    send_all(fd, response(400, "Bad Request", "bad request\n"), deadline);
    return;
  }
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") {
    send_all(fd, response(404, "Not Found", "only /metrics is served here\n"), deadline);
    return;
  }
  if (method != "GET" && method != "HEAD") {
    send_all(fd, response(405, "Method Not Allowed", "GET only\n"), deadline);
    return;
  }
  std::string r =
      response(200, "OK", registry_.expose(), "text/plain; version=0.0.4; charset=utf-8");
  if (method == "HEAD") r = r.substr(0, r.find("\r\n\r\n") + 4);
  send_all(fd, r, deadline);
}

Result<void> write_textfile(const std::string& path, const Registry& registry) {
  const std::string tmp = path + ".tmp";
  const std::string text = registry.expose();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return fail(ErrorCode::kIo, fmt::format("metrics.textfile {}: {}", tmp, std::strerror(errno)));
  }
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return fail(ErrorCode::kIo,
                  fmt::format("metrics.textfile {}: {}", tmp, std::strerror(errno)));
    }
    off += static_cast<std::size_t>(n);
  }
  fd.reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::kIo, fmt::format("metrics.textfile {}: {}", path, std::strerror(errno)));
  }
  return {};
}

}  // namespace conntrail::metrics
