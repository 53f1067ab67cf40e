// agent/http2/server.cc — listeners, the epoll loop, connection limits and timers.
#include "agent/http2/server.h"
#include "agent/net/socket_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "agent/http2/connection.h"
#include "agent/log/log.h"
#include "agent/tls/tls_context.h"
#include "core/handle.h"

namespace conntrail::http2 {

namespace alog = conntrail::agent::log;

namespace {

// epoll data tags: 0 = the wake-up eventfd, 1..kMaxListeners = listeners, above = connections.
constexpr std::uint64_t kWakeTag = 0;
constexpr std::uint64_t kFirstConnectionId = 1ull << 32;

std::string errno_text(int err) { return std::strerror(err); }

Result<UniqueFd> bind_listener(const agent::ListenAddress& a, std::uint16_t* bound_port) {
  const bool v4 = a.address.is_v4();
  UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(ErrorCode::kIo, "socket: " + errno_text(errno));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (!v4) {
    // [::] means IPv6 only; list 0.0.0.0 separately for IPv4 (no mapped-address surprises).
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  sockaddr_storage ss{};
  socklen_t len = agent::net::to_sockaddr(a.address, a.port, ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("api.listen {}: bind: {}", a.to_string(), errno_text(errno)));
  }
  if (::listen(fd.get(), 511) != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("api.listen {}: listen: {}", a.to_string(), errno_text(errno)));
  }
  len = sizeof(ss);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  *bound_port = ntohs(v4 ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                         : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

// The peer as an IpAddress (for per-address limits) and as "a.b.c.d:port" / "[v6]:port".
std::pair<IpAddress, std::string> peer_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &sin->sin_addr, 4);
    auto ip = IpAddress::v4_from_bytes(b);
    return {ip, fmt::format("{}:{}", ip.to_string(), ntohs(sin->sin_port))};
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  std::array<std::uint8_t, 16> b{};
  std::memcpy(b.data(), &sin6->sin6_addr, 16);
  auto ip = IpAddress::v6_from_bytes(b);
  return {ip, fmt::format("[{}]:{}", ip.to_string(), ntohs(sin6->sin6_port))};
}

// Hand-over from other threads to the loop: resume requests, under a mutex, plus a wake-up.
// Shared with the resume callbacks (which may outlive the Server), hence shared_ptr.
struct WakeQueue {
  UniqueFd event_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::int32_t>> resumes;
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_fd.get(), &one, sizeof(one));
  }
  void push_resume(std::uint64_t conn, std::int32_t stream) {
    {
      std::lock_guard lock(mu);
      // Bounded by the number of streams alive (each source resumes at most once per wait),
      // but guard against a misbehaving producer anyway.
      if (resumes.size() < 1'000'000) resumes.emplace_back(conn, stream);
    }
    wake();
  }
};

alog::RateLimit g_limit_log;

}  // namespace

class Server::Impl {
 public:
  agent::ApiOptions options;
  Handler handler;
  std::unique_ptr<metrics::Registry> own_registry;
  std::unique_ptr<ServerMetrics> metrics;
  std::vector<UniqueFd> listeners;
  std::vector<std::uint16_t> ports;
  UniqueFd epoll_fd;
  std::shared_ptr<WakeQueue> wake = std::make_shared<WakeQueue>();
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connection_count{0};
  std::atomic<Clock::rep> heartbeat{0};

  std::mutex tls_mu;
  std::shared_ptr<tls::TlsContext> tls;  // guarded by tls_mu; read at accept

  // Loop-thread state.
  ConnectionEnv env;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections;
  std::unordered_map<std::uint64_t, std::uint32_t> registered_events;
  std::unordered_map<IpAddress, std::uint32_t, IpAddressHash> per_address;
  std::unordered_map<std::uint64_t, IpAddress> address_of;
  std::uint64_t next_id = kFirstConnectionId;
  struct Budget {
    Clock::time_point window_start;
    std::uint32_t count = 0;
  };
  std::unordered_map<std::string, Budget> budgets;
  Clock::time_point last_budget_purge{};

  void run();
  void accept_all(int listener, Clock::time_point now);
  void update_events(Connection& c);
  void remove(std::uint64_t id);
  void drain_wake(Clock::time_point now);
  bool allow_request(const std::string& cert, Clock::time_point now);
};

bool Server::Impl::allow_request(const std::string& cert, Clock::time_point now) {
  auto& b = budgets[cert];
  if (b.count == 0 || now - b.window_start >= std::chrono::minutes(1)) {
    b.window_start = now;
    b.count = 0;
  }
  return ++b.count <= options.requests_per_minute;
}

Result<std::unique_ptr<Server>> Server::create(const agent::ApiOptions& options, Handler handler,
                                               metrics::Registry* registry) {
  // OpenSSL writes to sockets with write(2): a client that vanishes must not raise SIGPIPE and
  // kill the process. Only the default disposition is changed (an embedding program that set
  // its own handler keeps it).
  struct sigaction old_action {};
  if (::sigaction(SIGPIPE, nullptr, &old_action) == 0 && old_action.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  if (registry == nullptr) {
    impl->own_registry = std::make_unique<metrics::Registry>();
    registry = impl->own_registry.get();
  }
  impl->metrics = std::make_unique<ServerMetrics>(*registry);
  auto ctx = tls::TlsContext::create(options);
  if (!ctx) return std::unexpected(ctx.error());
  impl->tls = std::move(*ctx);
  if (!impl->wake->event_fd.valid()) return fail(ErrorCode::kIo, "eventfd: " + errno_text(errno));
  impl->epoll_fd.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!impl->epoll_fd.valid()) return fail(ErrorCode::kIo, "epoll_create1: " + errno_text(errno));
  if (options.listen.empty()) return fail(ErrorCode::kInvalidArgument, "api.listen: no address");
  for (const auto& a : options.listen) {
    std::uint16_t port = 0;
    auto fd = bind_listener(a, &port);
    if (!fd) return std::unexpected(fd.error());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = impl->listeners.size() + 1;
    if (::epoll_ctl(impl->epoll_fd.get(), EPOLL_CTL_ADD, fd->get(), &ev) != 0) {
      return fail(ErrorCode::kIo, "epoll_ctl: " + errno_text(errno));
    }
    impl->listeners.push_back(std::move(*fd));
    impl->ports.push_back(port);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(impl->epoll_fd.get(), EPOLL_CTL_ADD, impl->wake->event_fd.get(), &ev) != 0) {
    return fail(ErrorCode::kIo, "epoll_ctl: " + errno_text(errno));
  }
  Impl* raw = impl.get();
  impl->env.options = &impl->options;
  impl->env.handler = &impl->handler;
  impl->env.metrics = impl->metrics.get();
  impl->env.make_resume = [weak = std::weak_ptr<WakeQueue>(impl->wake)](std::uint64_t conn,
                                                                        std::int32_t stream) {
    return std::function<void()>([weak, conn, stream] {
      if (auto q = weak.lock()) q->push_resume(conn, stream);
    });
  };
  impl->env.allow_request = [raw](const std::string& cert, Clock::time_point now) {
    return raw->allow_request(cert, now);
  };
  impl->heartbeat.store(Clock::now().time_since_epoch().count());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

void Server::run() { impl_->run(); }

void Server::stop() {
  impl_->stopping.store(true);
  impl_->wake->wake();
}

Result<void> Server::reload_tls(const agent::ApiOptions& options) {
  auto ctx = tls::TlsContext::create(options);
  if (!ctx) return std::unexpected(ctx.error());
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = std::move(*ctx);
  return {};
}

const std::vector<std::uint16_t>& Server::ports() const noexcept { return impl_->ports; }
std::size_t Server::connection_count() const noexcept { return impl_->connection_count.load(); }
Clock::time_point Server::heartbeat() const noexcept {
  return Clock::time_point(Clock::duration(impl_->heartbeat.load()));
}

void Server::Impl::update_events(Connection& c) {
  const std::uint32_t want = c.wanted_events();
  auto& reg = registered_events[c.id()];
  if (want == reg) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id();
  ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, c.fd(), &ev);
  reg = want;
}

void Server::Impl::remove(std::uint64_t id) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, it->second->fd(), nullptr);
  connections.erase(it);
  registered_events.erase(id);
  if (auto a = address_of.find(id); a != address_of.end()) {
    auto p = per_address.find(a->second);
    if (p != per_address.end() && --p->second == 0) per_address.erase(p);
    address_of.erase(a);
  }
  connection_count.store(connections.size());
}

void Server::Impl::accept_all(int listener, Clock::time_point now) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    UniqueFd fd(
        ::accept4(listener, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      // EMFILE/ENFILE/ENOBUFS: nothing to do but wait; level-triggered epoll retries.
      alog::limited(g_limit_log, agent::LogLevel::kError, "api: accept failed: {}",
                    errno_text(errno));
      return;
    }
    metrics->accepted.inc();
    auto [ip, peer] = peer_of(ss);
    if (connections.size() >= options.max_connections) {
      metrics->rejected_total_limit.inc();
      alog::limited(g_limit_log, agent::LogLevel::kWarning,
                    "api: connection refused: max_connections ({}) reached",
                    options.max_connections);
      continue;  // fd closes here
    }
    auto& count = per_address[ip];
    if (count >= options.max_connections_per_address) {
      metrics->rejected_address_limit.inc();
      alog::limited(g_limit_log, agent::LogLevel::kWarning,
                    "api: connection refused: max_connections_per_address ({}) reached",
                    options.max_connections_per_address);
      if (count == 0) per_address.erase(ip);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::shared_ptr<tls::TlsContext> ctx;
    {
      std::lock_guard lock(tls_mu);
      ctx = tls;
    }
    auto t = tls::TlsConnection::create(std::move(ctx), fd.get());
    if (!t) {
      alog::limited(g_limit_log, agent::LogLevel::kError, "api: {}", t.error().message);
      if (count == 0) per_address.erase(ip);
      continue;
    }
    const std::uint64_t id = next_id++;
    const int raw_fd = fd.get();
    auto conn =
        std::make_unique<Connection>(id, std::move(fd), std::move(peer), std::move(*t), &env, now);
    epoll_event ev{};
    ev.events = conn->wanted_events();
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, raw_fd, &ev) != 0) {
      if (count == 0) per_address.erase(ip);
      continue;
    }
    ++count;
    address_of.emplace(id, ip);
    registered_events[id] = ev.events;
    connections.emplace(id, std::move(conn));
    connection_count.store(connections.size());
  }
}

void Server::Impl::drain_wake(Clock::time_point now) {
  std::uint64_t v = 0;
  [[maybe_unused]] auto n = ::read(wake->event_fd.get(), &v, sizeof(v));
  std::vector<std::pair<std::uint64_t, std::int32_t>> todo;
  {
    std::lock_guard lock(wake->mu);
    todo.swap(wake->resumes);
  }
  for (const auto& [conn, stream] : todo) {
    auto it = connections.find(conn);
    if (it == connections.end()) continue;
    it->second->resume(stream, now);
  }
}

void Server::Impl::run() {
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  Clock::time_point last_tick = Clock::now();
  while (!stopping.load()) {
    const int n = ::epoll_wait(epoll_fd.get(), events, kMaxEvents, 250);
    const auto now = Clock::now();
    heartbeat.store(now.time_since_epoch().count());
    if (n < 0 && errno != EINTR) {
      alog::error("api: epoll_wait: {}", errno_text(errno));
      break;
    }
    std::vector<std::uint64_t> touched;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        drain_wake(now);
        // Resumed connections may now want other events.
        for (auto& [id, c] : connections) touched.push_back(id);
      } else if (tag <= listeners.size()) {
        accept_all(listeners[tag - 1].get(), now);
      } else if (auto it = connections.find(tag); it != connections.end()) {
        it->second->on_event(events[i].events, now);
        touched.push_back(tag);
      }
    }
    if (now - last_tick >= std::chrono::milliseconds(250)) {
      last_tick = now;
      for (auto& [id, c] : connections) {
        c->on_tick(now);
        touched.push_back(id);
      }
      if (now - last_budget_purge >= std::chrono::minutes(1)) {
        last_budget_purge = now;
        std::erase_if(budgets, [&](const auto& kv) {
          return now - kv.second.window_start >= std::chrono::minutes(1);
        });
      }
    }
    for (auto id : touched) {
      auto it = connections.find(id);
      if (it == connections.end()) continue;
      if (it->second->closed()) {
        remove(id);
      } else {
        update_events(*it->second);
      }
    }
  }
  // Graceful end: GOAWAY to everyone, one flush attempt, then close.
  for (auto& [id, c] : connections) c->shutdown();
  std::vector<std::uint64_t> ids;
  for (auto& [id, c] : connections) ids.push_back(id);
  for (auto id : ids) remove(id);
}

}  // namespace conntrail::http2
