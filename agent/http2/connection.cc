// agent/http2/connection.cc — TLS + nghttp2 for one client. See connection.h.
#include "agent/http2/connection.h"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

#include "agent/log/log.h"

namespace conntrail::http2 {

namespace alog = conntrail::agent::log;

namespace {

// Output waiting for the socket beyond which we stop pulling frames from nghttp2 and stop
// reading input: bounds memory per connection whatever the client does.
constexpr std::size_t kMaxPendingOutput = 64 * 1024;
constexpr std::size_t kReadBuffer = 16 * 1024;

alog::RateLimit g_handshake_log;
alog::RateLimit g_abuse_log;
alog::RateLimit g_error_log;

}  // namespace

struct Connection::Stream {
  std::int32_t id = 0;
  HttpRequest request;
  std::size_t header_bytes = 0;
  bool rejected = false;   // answered early (413, 431): further input is discarded
  bool responded = false;  // a response was submitted
  bool deferred = false;   // waiting for its BodySource to resume us
  bool reset_sent = false;
  std::uint64_t discarded = 0;  // body bytes dropped after an early answer
  Clock::time_point opened;
  std::string body;
  std::size_t body_offset = 0;
  std::unique_ptr<BodySource> source;
};

// ---- metrics ---------------------------------------------------------------------------

ServerMetrics::ServerMetrics(metrics::Registry& r)
    : registry(r),
      accepted(r.counter("conntrail_api_connections_accepted_total",
                         "API connections accepted (before TLS)")),
      rejected_total_limit(r.counter("conntrail_api_connections_rejected_total",
                                     "API connections refused at accept",
                                     {{"reason", "max_connections"}})),
      rejected_address_limit(r.counter("conntrail_api_connections_rejected_total",
                                       "API connections refused at accept",
                                       {{"reason", "max_connections_per_address"}})),
      active(r.gauge("conntrail_api_connections", "API connections open now")),
      handshake_failures(r.counter("conntrail_api_tls_handshake_failures_total",
                                   "TLS handshakes that failed (no/invalid/revoked client "
                                   "certificate, no ALPN h2, protocol error)")),
      handshake_timeouts(r.counter("conntrail_api_timeouts_total",
                                   "API connections or streams ended by a timeout",
                                   {{"kind", "handshake"}})),
      idle_timeouts(r.counter("conntrail_api_timeouts_total",
                              "API connections or streams ended by a timeout", {{"kind", "idle"}})),
      request_timeouts(r.counter("conntrail_api_timeouts_total",
                                 "API connections or streams ended by a timeout",
                                 {{"kind", "request"}})),
      stalled_output(r.counter("conntrail_api_timeouts_total",
                               "API connections or streams ended by a timeout",
                               {{"kind", "stalled_output"}})),
      rapid_reset(r.counter("conntrail_api_abuse_total", "API connections ended for protocol abuse",
                            {{"kind", "rapid_reset"}})),
      flood(r.counter("conntrail_api_abuse_total", "API connections ended for protocol abuse",
                      {{"kind", "flood"}})),
      protocol_errors(r.counter("conntrail_api_abuse_total",
                                "API connections ended for protocol abuse",
                                {{"kind", "protocol_error"}})),
      header_list_too_large(r.counter("conntrail_api_streams_refused_total",
                                      "API streams refused before the handler",
                                      {{"reason", "header_list_too_large"}})),
      body_too_large(r.counter("conntrail_api_streams_refused_total",
                               "API streams refused before the handler",
                               {{"reason", "body_too_large"}})),
      body_budget(r.counter("conntrail_api_streams_refused_total",
                            "API streams refused before the handler",
                            {{"reason", "connection_body_budget"}})),
      rate_limited(r.counter("conntrail_api_streams_refused_total",
                             "API streams refused before the handler",
                             {{"reason", "rate_limited"}})),
      handler_exceptions(r.counter("conntrail_api_handler_exceptions_total",
                                   "Requests whose handler threw (answered 500)")) {}

namespace {
// "/v1/requests/7f3a/results" -> "/v1/requests/{id}/results": segments holding a digit
// become {id}, at most four segments are kept, so that label cardinality stays bounded.
std::string endpoint_label(const std::string& path) {
  std::string out;
  std::size_t pos = 1;
  int segments = 0;
  while (pos <= path.size() && segments < 4) {
    auto next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string seg = path.substr(pos, next - pos);
    if (seg.empty()) break;
    const bool has_digit =
        std::any_of(seg.begin(), seg.end(), [](char c) { return c >= '0' && c <= '9'; });
    // "v1" is a version, not an id.
    if (has_digit && !(segments == 0 && seg.size() <= 3 && seg[0] == 'v')) seg = "{id}";
    if (seg.size() > 32) seg = "{long}";
    out += "/" + seg;
    ++segments;
    pos = next + 1;
  }
  return out.empty() ? "/" : out;
}
}  // namespace

void ServerMetrics::count_request(const std::string& path, int status) {
  // Bounded: at most kMaxEndpoints distinct endpoint labels, the rest are "other".
  static constexpr std::size_t kMaxEndpoints = 64;
  std::string endpoint = endpoint_label(path);
  if (!endpoints_seen.contains(endpoint)) {
    if (endpoints_seen.size() >= kMaxEndpoints)
      endpoint = "other";
    else
      endpoints_seen.insert(endpoint);
  }
  registry
      .counter("conntrail_api_requests_total", "API requests answered, by endpoint and status",
               {{"endpoint", endpoint}, {"status", std::to_string(status)}})
      .inc();
}

// ---- nghttp2 trampolines -----------------------------------------------------------------

namespace {

Connection* self(void* user_data) { return static_cast<Connection*>(user_data); }

int on_begin_headers_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  return self(user_data)->on_begin_headers(frame->hd.stream_id);
}

int on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                 std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                 void* user_data) {
  return self(user_data)->on_header(
      frame->hd.stream_id, std::string_view(reinterpret_cast<const char*>(name), namelen),
      std::string_view(reinterpret_cast<const char*>(value), valuelen));
}

int on_data_chunk_recv_cb(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                          const std::uint8_t* data, std::size_t len, void* user_data) {
  return self(user_data)->on_data_chunk(stream_id, data, len);
}

int on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return self(user_data)->on_frame_recv(frame->hd.type, frame->hd.flags, frame->hd.stream_id);
}

int on_frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return self(user_data)->on_frame_send(frame->hd.type, frame->hd.flags, frame->hd.stream_id);
}

int on_stream_close_cb(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user_data) {
  return self(user_data)->on_stream_close(stream_id);
}

ssize_t read_body_cb(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                     std::uint32_t* data_flags, nghttp2_data_source* source, void* user_data) {
  return self(user_data)->read_body(static_cast<Connection::Stream*>(source->ptr), buf, length,
                                    data_flags);
}

using SessionCallbacks = Handle<nghttp2_session_callbacks, nghttp2_session_callbacks_del>;
using SessionOption = Handle<nghttp2_option, nghttp2_option_del>;

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool is_connection_specific(const std::string& name) {
  // RFC 9113 §8.2.2: these must not appear in HTTP/2 responses.
  return name.empty() || name[0] == ':' || name == "connection" || name == "keep-alive" ||
         name == "proxy-connection" || name == "transfer-encoding" || name == "upgrade";
}

}  // namespace

// ---- lifecycle -------------------------------------------------------------------------

Connection::Connection(std::uint64_t id, UniqueFd fd, std::string peer, tls::TlsConnection tls,
                       ConnectionEnv* env, Clock::time_point now)
    : id_(id),
      fd_(std::move(fd)),
      peer_(std::move(peer)),
      tls_(std::move(tls)),
      env_(env),
      accepted_at_(now),
      last_activity_(now),
      last_write_progress_(now),
      reset_window_start_(now),
      now_(now) {
  env_->metrics->active.add(1);
}

Connection::~Connection() {
  env_->metrics->active.add(-1);
  if (session_ != nullptr) nghttp2_session_del(session_);
}

std::uint32_t Connection::wanted_events() const noexcept {
  if (state_ == State::kClosed) return 0;
  std::uint32_t ev = 0;
  if (want_read_ && !read_blocked_) ev |= EPOLLIN;
  if (want_write_) ev |= EPOLLOUT;
  return ev | EPOLLRDHUP;
}

void Connection::close(const char* why) {
  if (state_ == State::kClosed) return;
  alog::debug("api: connection {} from {} closed: {}", id_, peer_, why);
  state_ = State::kClosed;
  // Streams go with the session; their BodySources are released here, on the loop thread.
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
    session_ = nullptr;
  }
  streams_.clear();
}

void Connection::shutdown() {
  if (state_ == State::kHandshake) {
    close("server stopping");
    return;
  }
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  flush(now_);
  if (state_ != State::kClosed) {
    tls_.shutdown();
    close("server stopping");
  }
}

void Connection::on_event(std::uint32_t events, Clock::time_point now) {
  now_ = now;
  if (state_ == State::kClosed) return;
  if (state_ == State::kHandshake) {
    do_handshake(now);
    return;
  }
  if ((events & (EPOLLERR)) != 0) {
    close("socket error");
    return;
  }
  if ((events & EPOLLOUT) != 0 || (events & EPOLLIN) == 0) flush(now);
  if (state_ != State::kClosed && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0) {
    read_input(now);
  }
}

void Connection::do_handshake(Clock::time_point now) {
  switch (tls_.handshake()) {
    case tls::IoStatus::kOk:
      last_activity_ = now;
      identity_ = tls_.identity();
      if (!start_session()) {
        close("nghttp2 session set-up failed");
        return;
      }
      state_ = State::kOpen;
      alog::debug("api: connection {} from {}: client {}", id_, peer_, identity_.subject);
      flush(now);                                   // our SETTINGS
      if (state_ == State::kOpen) read_input(now);  // data may have come with the Finished
      return;
    case tls::IoStatus::kWantRead:
      want_read_ = true;
      want_write_ = false;
      return;
    case tls::IoStatus::kWantWrite:
      want_read_ = false;
      want_write_ = true;
      return;
    case tls::IoStatus::kClosed:
    case tls::IoStatus::kError:
      env_->metrics->handshake_failures.inc();
      // The reason (e.g. "certificate revoked") is not personal data; the address is.
      alog::limited(g_handshake_log, agent::LogLevel::kWarning, "api: TLS handshake failed: {}",
                    tls_.error().empty() ? "connection closed" : tls_.error());
      alog::debug("api: failed handshake was from {}", peer_);
      close("handshake failed");
      return;
  }
}

bool Connection::start_session() {
  nghttp2_session_callbacks* raw_cbs = nullptr;
  if (nghttp2_session_callbacks_new(&raw_cbs) != 0) return false;
  SessionCallbacks cbs(raw_cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs.get(), on_begin_headers_cb);
  nghttp2_session_callbacks_set_on_header_callback(cbs.get(), on_header_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), on_data_chunk_recv_cb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), on_frame_recv_cb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs.get(), on_frame_send_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), on_stream_close_cb);

  nghttp2_option* raw_opt = nullptr;
  if (nghttp2_option_new(&raw_opt) != 0) return false;
  SessionOption opt(raw_opt);
  const auto& o = *env_->options;
  // Flood limits. Queued ACKs (PING/SETTINGS) beyond 1000 -> NGHTTP2_ERR_FLOODED.
  nghttp2_option_set_max_outbound_ack(opt.get(), 1000);
  // At most 32 entries in one SETTINGS frame (there are 7 defined settings).
  nghttp2_option_set_max_settings(opt.get(), 32);
  // CVE-2024-28182: bound CONTINUATION frames after one HEADERS.
  nghttp2_option_set_max_continuations(opt.get(), 8);
  // Backstop of our own rapid-reset window below (nghttp2's token bucket): twice our burst.
  nghttp2_option_set_stream_reset_rate_limit(
      opt.get(), std::uint64_t{o.max_resets_per_window} * 2,
      std::max<std::uint64_t>(
          1, o.max_resets_per_window / std::max<std::int64_t>(1, o.reset_window.count())));
  // Do not keep closed streams around for RFC 7540 priorities (memory per reset stream).
  nghttp2_option_set_no_closed_streams(opt.get(), 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt.get(), 4096);

  if (nghttp2_session_server_new2(&session_, cbs.get(), this, opt.get()) != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                                 sizeof(settings) / sizeof(settings[0])) == 0;
}

// ---- I/O -------------------------------------------------------------------------------

void Connection::read_input(Clock::time_point now) {
  char buf[kReadBuffer];
  while (state_ == State::kOpen || state_ == State::kClosing) {
    if (out_.size() - out_off_ >= kMaxPendingOutput) {
      read_blocked_ = true;  // resumes in flush() once the client reads
      return;
    }
    read_blocked_ = false;
    std::size_t n = 0;
    const auto st = tls_.read(std::span<char>(buf, sizeof(buf)), &n);
    if (st == tls::IoStatus::kWantRead) {
      want_read_ = true;
      return;
    }
    if (st == tls::IoStatus::kWantWrite) {  // TLS needs to write first (key update)
      want_write_ = true;
      return;
    }
    if (st == tls::IoStatus::kClosed) {
      close("peer closed");
      return;
    }
    if (st == tls::IoStatus::kError) {
      alog::limited(g_error_log, agent::LogLevel::kInfo, "api: connection dropped: {}",
                    tls_.error());
      close("TLS error");
      return;
    }
    last_activity_ = now;
    if (state_ == State::kClosing) continue;  // draining: discard
    const auto rv =
        nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(buf), n);
    if (rv < 0) {
      if (rv == NGHTTP2_ERR_FLOODED) {
        env_->metrics->flood.inc();
        alog::limited(g_abuse_log, agent::LogLevel::kWarning,
                      "api: client flooded the connection ({}); closed",
                      nghttp2_strerror(static_cast<int>(rv)));
      } else if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
        env_->metrics->protocol_errors.inc();
        alog::limited(g_abuse_log, agent::LogLevel::kInfo, "api: HTTP/2 error from client: {}",
                      nghttp2_strerror(static_cast<int>(rv)));
      } else {
        env_->metrics->protocol_errors.inc();
      }
      // nghttp2 has queued a GOAWAY for most errors: try to send it, then close.
      flush(now);
      close("HTTP/2 protocol error");
      return;
    }
    flush(now);
  }
}

void Connection::flush(Clock::time_point now) {
  if (session_ == nullptr) return;
  for (;;) {
    if (out_off_ < out_.size()) {
      std::size_t n = 0;
      const auto st =
          tls_.write(std::span<const char>(out_.data() + out_off_, out_.size() - out_off_), &n);
      if (st == tls::IoStatus::kOk) {
        out_off_ += n;
        last_activity_ = now;
        last_write_progress_ = now;
        continue;
      }
      if (st == tls::IoStatus::kWantWrite || st == tls::IoStatus::kWantRead) {
        want_write_ = true;
        return;
      }
      close(st == tls::IoStatus::kClosed ? "peer closed" : "TLS write error");
      return;
    }
    out_.clear();
    out_off_ = 0;
    want_write_ = false;
    while (out_.size() < kMaxPendingOutput) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        if (n == NGHTTP2_ERR_FLOODED) env_->metrics->flood.inc();
        close("nghttp2 send error");
        return;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out_.empty()) break;
  }
  last_write_progress_ = now;  // nothing pending: not stalled
  if (read_blocked_ && state_ != State::kClosed) {
    read_blocked_ = false;
    read_input(now);
    if (state_ == State::kClosed) return;
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    tls_.shutdown();
    close(state_ == State::kClosing ? "GOAWAY sent" : "session finished");
  }
}

void Connection::resume(std::int32_t stream_id, Clock::time_point now) {
  now_ = now;
  if (state_ != State::kOpen && state_ != State::kClosing) return;
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || !it->second->deferred) return;
  it->second->deferred = false;
  nghttp2_session_resume_data(session_, stream_id);
  flush(now);
}

void Connection::on_tick(Clock::time_point now) {
  now_ = now;
  const auto& o = *env_->options;
  switch (state_) {
    case State::kClosed:
      return;
    case State::kHandshake:
      if (now - accepted_at_ >= o.handshake_timeout) {
        env_->metrics->handshake_timeouts.inc();
        alog::limited(g_handshake_log, agent::LogLevel::kInfo,
                      "api: TLS handshake not completed in {}s; closed",
                      o.handshake_timeout.count());
        close("handshake timeout");
      }
      return;
    case State::kClosing:
      if (now - last_write_progress_ >= o.idle_timeout) close("closing timed out");
      return;
    case State::kOpen:
      break;
  }
  // A client that stopped reading: output pending and no write progress.
  if (out_off_ < out_.size() && now - last_write_progress_ >= o.idle_timeout) {
    env_->metrics->stalled_output.inc();
    alog::limited(g_abuse_log, agent::LogLevel::kInfo,
                  "api: client stopped reading for {}s; connection closed", o.idle_timeout.count());
    close("output stalled");
    return;
  }
  // Requests must arrive completely within idle_timeout of their stream's start (slowloris).
  std::vector<std::int32_t> slow;
  bool waiting_on_producer = false;
  for (const auto& [id, s] : streams_) {
    if (now - s->opened >= o.idle_timeout && !s->reset_sent) {
      // Incomplete request (slowloris), or an upload still running after our early answer.
      if (!s->responded ||
          (s->rejected && nghttp2_session_get_stream_remote_close(session_, id) == 0)) {
        s->reset_sent = true;
        slow.push_back(id);
      }
    }
    if (s->deferred) waiting_on_producer = true;
  }
  for (auto id : slow) {
    env_->metrics->request_timeouts.inc();
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id,
                              streams_.at(id)->responded ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
  }
  if (!slow.empty()) {
    alog::limited(g_abuse_log, agent::LogLevel::kInfo,
                  "api: {} request(s) incomplete after {}s; streams reset", slow.size(),
                  o.idle_timeout.count());
    flush(now);
    return;
  }
  // No traffic for idle_timeout, and not waiting on our own producer: idle (or a client
  // that never opens its flow-control window).
  if (!waiting_on_producer && now - last_activity_ >= o.idle_timeout) {
    env_->metrics->idle_timeouts.inc();
    state_ = State::kClosing;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    flush(now);
    if (state_ != State::kClosed) close("idle timeout");
  }
}

// ---- HTTP/2 callbacks --------------------------------------------------------------------

int Connection::on_begin_headers(std::int32_t stream_id) {
  auto s = std::make_unique<Stream>();
  s->id = stream_id;
  s->opened = now_;
  s->request.client = identity_;
  s->request.peer_address = peer_;
  streams_[stream_id] = std::move(s);
  return 0;
}

int Connection::on_header(std::int32_t stream_id, std::string_view name, std::string_view value) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;  // trailers of a stream we dropped, or not a request
  Stream& s = *it->second;
  if (s.rejected) return 0;
  // RFC 7541 §4.1 entry size: the HPACK-bomb bound is on the decoded list, not the wire.
  s.header_bytes += name.size() + value.size() + 32;
  if (s.header_bytes > env_->options->max_header_list_size) {
    env_->metrics->header_list_too_large.inc();
    alog::limited(g_abuse_log, agent::LogLevel::kInfo,
                  "api: request header list over {} bytes; stream reset",
                  env_->options->max_header_list_size);
    s.rejected = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM(INTERNAL_ERROR) for this stream
  }
  if (s.request.method.empty() && name == ":method") {
    s.request.method = value;
  } else if (name == ":path") {
    const auto q = value.find('?');
    s.request.path = value.substr(0, q);
    s.request.query =
        q == std::string_view::npos ? std::string() : std::string(value.substr(q + 1));
  } else if (!name.empty() && name[0] != ':') {
    s.request.headers.emplace_back(name, value);  // nghttp2 enforces lowercase names
  }
  return 0;
}

int Connection::on_data_chunk(std::int32_t stream_id, const std::uint8_t* data, std::size_t len) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  Stream& s = *it->second;
  if (s.rejected) {
    // After an early 413 the client may still be sending its body. Clients (curl 7.88)
    // drop the response if RST_STREAM arrives before their upload ends, so we discard a
    // bounded amount and only then reset (RFC 9113 §8.1 allows NO_ERROR here).
    s.discarded += len;
    const std::uint64_t limit =
        std::max<std::uint64_t>(1 << 20, 4 * env_->options->max_request_body);
    if (s.discarded > limit && !s.reset_sent) {
      s.reset_sent = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }
  if (s.responded) return 0;
  if (s.request.body.size() + len > env_->options->max_request_body) {
    respond_problem(s, 413, "Request body larger than the configured limit");
    env_->metrics->body_too_large.inc();
    s.rejected = true;
    release_body(s);
    return 0;
  }
  // All streams of a connection together buffer at most one maximal body (or 1 MiB): without
  // this, max_concurrent_streams x max_request_body per connection could be held.
  const std::uint64_t budget = std::max<std::uint64_t>(1 << 20, env_->options->max_request_body);
  if (buffered_body_bytes_ + len > budget) {
    respond_problem(s, 503, "Too many request bodies in flight on this connection");
    env_->metrics->body_budget.inc();
    s.rejected = true;
    release_body(s);
    return 0;
  }
  s.request.body.append(reinterpret_cast<const char*>(data), len);
  buffered_body_bytes_ += len;
  return 0;
}

int Connection::on_frame_recv(std::uint8_t type, std::uint8_t flags, std::int32_t stream_id) {
  if (type == NGHTTP2_RST_STREAM) {
    // CVE-2023-44487: count resets per connection in a fixed window.
    if (now_ - reset_window_start_ >= env_->options->reset_window) {
      reset_window_start_ = now_;
      resets_in_window_ = 0;
    }
    if (++resets_in_window_ > env_->options->max_resets_per_window) {
      env_->metrics->rapid_reset.inc();
      alog::limited(g_abuse_log, agent::LogLevel::kWarning,
                    "api: more than {} stream resets in {}s (rapid reset); GOAWAY",
                    env_->options->max_resets_per_window, env_->options->reset_window.count());
      state_ = State::kClosing;
      nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return 0;
  }
  if (type != NGHTTP2_HEADERS && type != NGHTTP2_DATA) return 0;
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  Stream& s = *it->second;
  if (type == NGHTTP2_HEADERS && !s.rejected && !s.responded) {
    // A declared body over the limit is refused before it is sent.
    for (const auto& [k, v] : s.request.headers) {
      if (k != "content-length") continue;
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || n > env_->options->max_request_body) {
        env_->metrics->body_too_large.inc();
        respond_problem(s, 413, "Request body larger than the configured limit");
        s.rejected = true;
        return 0;
      }
    }
  }
  if ((flags & NGHTTP2_FLAG_END_STREAM) != 0 && !s.rejected && !s.responded &&
      state_ == State::kOpen) {
    dispatch(s);
  }
  return 0;
}

int Connection::on_frame_send(std::uint8_t, std::uint8_t, std::int32_t) { return 0; }

void Connection::release_body(Stream& s) {
  buffered_body_bytes_ -= std::min<std::uint64_t>(buffered_body_bytes_, s.request.body.size());
  s.request.body.clear();
  s.request.body.shrink_to_fit();
}

int Connection::on_stream_close(std::int32_t stream_id) {
  if (auto it = streams_.find(stream_id); it != streams_.end()) release_body(*it->second);
  streams_.erase(stream_id);  // releases the BodySource; its resume() becomes a no-op
  return 0;
}

// ---- requests and responses ----------------------------------------------------------------

void Connection::dispatch(Stream& s) {
  const auto& o = *env_->options;
  (void)o;
  if (!env_->allow_request(identity_.cert_sha256, now_)) {
    env_->metrics->rate_limited.inc();
    HttpResponse r =
        HttpResponse::json(429, R"({"type":"about:blank","title":"Too many requests","status":429,)"
                                R"("detail":"requests per minute for this certificate exceeded"})");
    r.headers[0].second = "application/problem+json";
    r.headers.emplace_back("retry-after", "60");
    respond(s, std::move(r));
    return;
  }
  HttpResponse response;
  try {
    response = (*env_->handler)(s.request);
  } catch (const std::exception& e) {
    env_->metrics->handler_exceptions.inc();
    alog::limited(g_error_log, agent::LogLevel::kError, "api: handler failed: {}", e.what());
    respond_problem(s, 500, "Internal server error");
    return;
  } catch (...) {
    env_->metrics->handler_exceptions.inc();
    respond_problem(s, 500, "Internal server error");
    return;
  }
  release_body(s);  // the handler has seen it; it must have copied what it keeps
  respond(s, std::move(response));
}

void Connection::respond_problem(Stream& s, int status, const char* title) {
  HttpResponse r = HttpResponse::json(
      status, fmt::format(R"({{"type":"about:blank","title":"{}","status":{}}})", title, status));
  r.headers[0].second = "application/problem+json";
  respond(s, std::move(r));
}

void Connection::respond(Stream& s, HttpResponse response) {
  if (s.responded) return;
  s.responded = true;
  if (response.status < 100 || response.status > 999) response.status = 500;
  env_->metrics->count_request(s.request.path, response.status);
  const std::string status = std::to_string(response.status);
  const std::string status_name = ":status";
  std::vector<nghttp2_nv> nva;
  nva.reserve(response.headers.size() + 2);
  nva.push_back(make_nv(status_name, status));
  bool has_length = false;
  for (const auto& [k, v] : response.headers) {
    if (is_connection_specific(k)) continue;
    if (k == "content-length") has_length = true;
    nva.push_back(make_nv(k, v));
  }
  std::string length;
  const std::string length_name = "content-length";
  if (!response.stream && !has_length) {
    length = std::to_string(response.body.size());
    nva.push_back(make_nv(length_name, length));
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = &s;
  provider.read_callback = read_body_cb;
  const nghttp2_data_provider* prd = &provider;
  if (response.stream) {
    s.source = std::move(response.stream);
    s.source->set_resume(env_->make_resume(id_, s.id));
  } else if (response.body.empty() || s.request.method == "HEAD") {
    prd = nullptr;  // RFC 9110 §9.3.2: no content in a response to HEAD
  } else {
    s.body = std::move(response.body);
  }
  // nghttp2 copies names and values (no NO_COPY flags), so the locals may go now.
  if (nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), prd) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  }
}

long Connection::read_body(Stream* s, std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  if (!s->source) {
    const std::size_t n = std::min(length, s->body.size() - s->body_offset);
    std::memcpy(buf, s->body.data() + s->body_offset, n);
    s->body_offset += n;
    if (s->body_offset == s->body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<long>(n);
  }
  BodySource::Chunk c;
  try {
    c = s->source->read(std::span<char>(reinterpret_cast<char*>(buf), length));
  } catch (...) {
    c.status = BodySource::Status::kError;
  }
  switch (c.status) {
    case BodySource::Status::kData:
      return static_cast<long>(std::min(c.length, length));
    case BodySource::Status::kWouldBlock:
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    case BodySource::Status::kEnd: {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      HeaderList trailers;
      try {
        trailers = s->source->trailers();
      } catch (...) {
        trailers.clear();
      }
      if (!trailers.empty()) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [k, v] : trailers) {
          if (!is_connection_specific(k)) nva.push_back(make_nv(k, v));
        }
        if (nghttp2_submit_trailer(session_, s->id, nva.data(), nva.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
      return static_cast<long>(std::min(c.length, length));
    }
    case BodySource::Status::kError:
      break;
  }
  alog::limited(g_error_log, agent::LogLevel::kError,
                "api: response body source failed; stream reset");
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

}  // namespace conntrail::http2
