// agent/http2/server.h — the lawful query service's HTTP/2-over-mutual-TLS server.
//
// One event-loop thread (run()) owns every socket, TLS connection and nghttp2 session;
// other threads talk to it only through stop(), reload_tls() and BodySource resume
// callbacks, each of which hands a value over under a mutex and wakes the loop through
// an eventfd. The loop calls the Handler (http_types.h) for every complete request.
//
// Protocol and limits (issue 5 "Transport"; all from ApiOptions):
//   * TLS 1.3 (1.2 if configured), ALPN h2 only, client certificate required and
//     verified (agent/tls/). No HTTP/1.1, no h2c.
//   * max_connections in total and max_connections_per_address: excess connections are
//     closed at accept, before any TLS work.
//   * handshake_timeout: a connection that has not completed TLS in time is closed.
//     idle_timeout: a connection with no streams and no traffic, a stream whose request
//     is not complete, or a connection whose client stopped reading (output stalled)
//     for that long is closed/reset (slowloris, never-reading clients).
//   * max_concurrent_streams and max_header_list_size are advertised in SETTINGS and
//     enforced (nghttp2 refuses excess streams; header lists over the limit reset the
//     stream); max_request_body answers 413; the streams of one connection together buffer
//     at most max(1 MiB, max_request_body) of request bodies (503 beyond); requests_per_minute
//     per client certificate answers 429.
//   * CVE-2023-44487 rapid reset: more than max_resets_per_window RST_STREAM frames in
//     reset_window ends the connection with GOAWAY(ENHANCE_YOUR_CALM). CONTINUATION,
//     PING and SETTINGS floods: nghttp2's max_continuations, max_outbound_ack and
//     max_settings (libnghttp2 1.52.0-1+deb12u3 has the CVE-2024-28182 backport).
//   * Output is pulled from nghttp2 only while less than 64 KiB waits for the socket, and
//     input is not read while output is blocked: memory per connection stays bounded.
// Every refusal is counted in metrics (conntrail_api_*) and logged rate-limited.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/http2/http_types.h"
#include "agent/metrics/registry.h"
#include "core/result.h"

namespace conntrail::http2 {

class Server {
 public:
  // Binds every listen address (port 0 picks a free port, see ports()) and loads TLS.
  // `metrics` may be null (the server then keeps its own registry); it must outlive
  // the server.
  static Result<std::unique_ptr<Server>> create(const agent::ApiOptions& options, Handler handler,
                                                metrics::Registry* metrics = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs the event loop on the calling thread until stop(). Call once.
  void run();
  // Thread-safe; idempotent. run() sends GOAWAY to every connection and returns.
  void stop();
  // Thread-safe: loads certificate/key/CA/CRL from `options` into a new TLS context used
  // by connections accepted from now on. On failure the old context stays in use.
  Result<void> reload_tls(const agent::ApiOptions& options);

  // The bound port of each listen address, in configuration order.
  const std::vector<std::uint16_t>& ports() const noexcept;
  std::uint16_t port() const noexcept { return ports().front(); }
  // Open connections (any state).
  std::size_t connection_count() const noexcept;
  // Updated by the loop at least once a second while it runs: the watchdog reads it.
  std::chrono::steady_clock::time_point heartbeat() const noexcept;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace conntrail::http2
