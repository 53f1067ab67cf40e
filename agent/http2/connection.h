// agent/http2/connection.h — one client connection: TLS handshake, then an nghttp2
// server session. Internal to agent/http2/ (the Server owns connections).
//
// State machine (the function that makes each transition):
//   kHandshake --handshake ok (client cert verified, ALPN h2)--> kOpen       on_event()
//   kHandshake --TLS error / handshake_timeout---------------->  kClosed     on_event(), on_tick()
//   kOpen      --peer EOF, protocol error, flood, rapid reset->  kClosed     read_input(), flush()
//   kOpen      --idle_timeout / stalled output / stop()------->  kClosing    on_tick(), shutdown()
//   kClosing   --GOAWAY written (or write blocked)------------>  kClosed     flush()
// The Server removes a connection once closed() is true.
//
// Only this file's .cc includes <nghttp2/nghttp2.h>; nghttp2 callbacks are trampolines
// that cast user_data back to the Connection and call a member.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "agent/config/agent_config.h"
#include "agent/http2/http_types.h"
#include "agent/metrics/registry.h"
#include "agent/tls/tls_context.h"
#include "core/handle.h"

struct nghttp2_session;

namespace conntrail::http2 {

using Clock = std::chrono::steady_clock;

// Counters the connections update; registered once by the Server.
struct ServerMetrics {
  explicit ServerMetrics(metrics::Registry& registry);
  metrics::Registry& registry;
  metrics::Counter& accepted;
  metrics::Counter& rejected_total_limit;
  metrics::Counter& rejected_address_limit;
  metrics::Gauge& active;
  metrics::Counter& handshake_failures;
  metrics::Counter& handshake_timeouts;
  metrics::Counter& idle_timeouts;
  metrics::Counter& request_timeouts;
  metrics::Counter& stalled_output;
  metrics::Counter& rapid_reset;
  metrics::Counter& flood;
  metrics::Counter& protocol_errors;
  metrics::Counter& header_list_too_large;
  metrics::Counter& body_too_large;
  metrics::Counter& body_budget;
  metrics::Counter& rate_limited;
  metrics::Counter& handler_exceptions;
  // conntrail_api_requests_total{endpoint,status}; endpoint label bounded in cardinality.
  // Called on the loop thread only.
  void count_request(const std::string& path, int status);
  std::set<std::string> endpoints_seen;
};

// What a connection needs from its server; outlives every connection.
struct ConnectionEnv {
  const agent::ApiOptions* options = nullptr;
  const Handler* handler = nullptr;
  ServerMetrics* metrics = nullptr;
  // Builds the thread-safe resume callback for (connection id, stream id).
  std::function<std::function<void()>(std::uint64_t, std::int32_t)> make_resume;
  // Per-client-certificate request budget: false when over requests_per_minute.
  std::function<bool(const std::string& cert_sha256, Clock::time_point now)> allow_request;
};

class Connection {
 public:
  Connection(std::uint64_t id, UniqueFd fd, std::string peer, tls::TlsConnection tls,
             ConnectionEnv* env, Clock::time_point now);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Socket readiness (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits).
  void on_event(std::uint32_t events, Clock::time_point now);
  // Timeouts; call at least once a second.
  void on_tick(Clock::time_point now);
  // A BodySource said it has more data for this stream.
  void resume(std::int32_t stream_id, Clock::time_point now);
  // Graceful close: GOAWAY(NO_ERROR) and flush what can be flushed now.
  void shutdown();

  bool closed() const noexcept { return state_ == State::kClosed; }
  // The epoll events this connection wants now.
  std::uint32_t wanted_events() const noexcept;
  int fd() const noexcept { return fd_.get(); }
  std::uint64_t id() const noexcept { return id_; }

  // nghttp2 callback targets (public for the trampolines only).
  int on_begin_headers(std::int32_t stream_id);
  int on_header(std::int32_t stream_id, std::string_view name, std::string_view value);
  int on_data_chunk(std::int32_t stream_id, const std::uint8_t* data, std::size_t len);
  int on_frame_recv(std::uint8_t type, std::uint8_t flags, std::int32_t stream_id);
  int on_frame_send(std::uint8_t type, std::uint8_t flags, std::int32_t stream_id);
  int on_stream_close(std::int32_t stream_id);
  struct Stream;
  long read_body(Stream* stream, std::uint8_t* buf, std::size_t length, std::uint32_t* flags);

 private:
  enum class State { kHandshake, kOpen, kClosing, kClosed };

  void do_handshake(Clock::time_point now);
  bool start_session();
  void read_input(Clock::time_point now);
  void flush(Clock::time_point now);
  void close(const char* why);
  void dispatch(Stream& stream);
  void respond(Stream& stream, HttpResponse response);
  void respond_problem(Stream& stream, int status, const char* title);
  void release_body(Stream& stream);

  std::uint64_t id_;
  UniqueFd fd_;
  std::string peer_;
  tls::TlsConnection tls_;
  ConnectionEnv* env_;
  State state_ = State::kHandshake;
  bool want_read_ = true;      // TLS (handshake or read) waits for readability
  bool want_write_ = false;    // output pending: wait for writability
  bool read_blocked_ = false;  // input paused until pending output drains
  nghttp2_session* session_ = nullptr;
  ClientIdentity identity_;
  std::string out_;  // bytes from nghttp2 not yet accepted by TLS
  std::size_t out_off_ = 0;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  Clock::time_point accepted_at_;
  Clock::time_point last_activity_;
  Clock::time_point last_write_progress_;
  Clock::time_point reset_window_start_;
  std::uint32_t resets_in_window_ = 0;
  std::uint64_t buffered_body_bytes_ = 0;  // request bodies held by all streams
  Clock::time_point now_;  // time of the event being handled (for callbacks)
};

}  // namespace conntrail::http2
