// Tests of agent/http2 + agent/tls with real clients (curl --http2, python3-h2): mutual TLS,
// request dispatch, streaming with resume and trailers, and every limit and abuse defence
// while a well-behaved client keeps being served.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/http2/server.h"
#include "core/handle.h"
#include "http2_test_support.h"

namespace conntrail::http2 {
namespace {

using namespace conntrail::testing_support;

agent::ApiOptions test_options() {
  agent::ApiOptions o;
  o.listen.push_back(agent::ListenAddress{IpAddress::v4(0x7f000001), 0});
  o.tls_cert = pki("server.crt");
  o.tls_key = pki("server.key");
  o.client_ca = pki("ca.crt");
  o.crl = pki("crl.pem");
  o.officers_file = "/dev/null";
  return o;
}

HttpResponse echo(const HttpRequest& r) {
  nlohmann::json j = {{"method", r.method},
                      {"path", r.path},
                      {"query", r.query},
                      {"subject", r.client.subject},
                      {"issuer", r.client.issuer},
                      {"serial", r.client.serial},
                      {"sha256", r.client.cert_sha256},
                      {"body_size", r.body.size()},
                      {"peer", r.peer_address}};
  return HttpResponse::json(200, j.dump());
}

// Produces `chunks` pieces of "chunk-N\n" from another thread: every read() in between
// answers kWouldBlock, so the server must wait for resume().
class ThreadedSource : public BodySource {
 public:
  explicit ThreadedSource(int chunks) : chunks_(chunks) {}
  ~ThreadedSource() override {
    stop_ = true;
    if (producer_.joinable()) producer_.join();
  }
  void set_resume(std::function<void()> resume) override {
    resume_ = std::move(resume);
    producer_ = std::thread([this] {
      for (int i = 0; i < chunks_ && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        {
          std::lock_guard lock(mu_);
          pending_ += "chunk-" + std::to_string(i) + "\n";
          if (i + 1 == chunks_) done_ = true;
        }
        resume_();
      }
    });
  }
  Chunk read(std::span<char> buffer) override {
    std::lock_guard lock(mu_);
    if (pending_.empty()) return {done_ ? Status::kEnd : Status::kWouldBlock, 0};
    const std::size_t n = std::min(buffer.size(), pending_.size());
    std::memcpy(buffer.data(), pending_.data(), n);
    pending_.erase(0, n);
    return {Status::kData, n};
  }
  HeaderList trailers() override { return {{"x-chunks", std::to_string(chunks_)}}; }

 private:
  int chunks_;
  std::atomic<bool> stop_{false};
  std::function<void()> resume_;
  std::thread producer_;
  std::mutex mu_;
  std::string pending_;
  bool done_ = false;
};

// Never ends: the slow-reader test needs a response larger than any window.
class EndlessSource : public BodySource {
 public:
  void set_resume(std::function<void()>) override {}
  Chunk read(std::span<char> buffer) override {
    std::memset(buffer.data(), 'z', buffer.size());
    return {Status::kData, buffer.size()};
  }
};

HttpResponse router(const HttpRequest& r) {
  if (r.path == "/stream") {
    HttpResponse resp;
    resp.headers.emplace_back("content-type", "text/plain");
    resp.stream = std::make_unique<ThreadedSource>(50);
    return resp;
  }
  if (r.path == "/endless") {
    HttpResponse resp;
    resp.stream = std::make_unique<EndlessSource>();
    return resp;
  }
  if (r.path == "/throw") throw std::runtime_error("handler bug");
  return echo(r);
}

class ServerTest : public ::testing::Test {
 protected:
  // A slow reader of an endless body (`window`: big = never reads the socket, tiny =
  // never opens its HTTP/2 window) is closed after the 1 s idle timeout, counted
  // under `kind`, while another officer is served.
  void expect_slow_reader_closed(const std::string& window, const std::string& kind) {
    auto o = test_options();
    o.idle_timeout = std::chrono::seconds(1);
    start(o);
    auto slow = std::async(std::launch::async, [&] {
      return h2client("slow-reader", port_, "officer-a",
                      "--path /endless --window " + window + " --seconds 5");
    });
    EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
    auto r = slow.get();
    EXPECT_EQ(r.out, "closed\n");
    EXPECT_EQ(metric("conntrail_api_timeouts_total{kind=\"" + kind + "\"}"), "1");
  }

  void start(agent::ApiOptions options) {
    ASSERT_FALSE(test_pki().empty()) << "test PKI could not be created";
    options_ = options;
    auto s = Server::create(options, router, &registry_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
    port_ = server_->ports().at(0);
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string metric(const std::string& series) {
    const std::string text = registry_.expose();
    const auto pos = text.find("\n" + series + " ");
    if (pos == std::string::npos) return "absent";
    const auto start = pos + series.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
  }

  metrics::Registry registry_;
  agent::ApiOptions options_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(ServerTest, ServesAClientWithAValidCertificateAndPassesItsIdentity) {
  start(test_options());
  auto r = curl(port_, "/v1/status?x=1", "officer-a");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(http_status(r), "200");
  auto j = nlohmann::json::parse(r.out.substr(0, r.out.rfind('\n')));
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/v1/status");
  EXPECT_EQ(j["query"], "x=1");
  EXPECT_EQ(j["subject"], "CN=officer-a,OU=Cybercrime,O=Demo Police,C=DE");
  EXPECT_EQ(j["issuer"], "CN=conntrail test CA,O=conntrail test CA");
  // The fingerprint and serial the openssl command reports for the same file.
  auto fp = run_command("openssl x509 -noout -fingerprint -sha256 -in " + pki("officer-a.crt") +
                        " | sed 's/.*=//; s/://g' | tr A-F a-f | tr -d '\\n'");
  EXPECT_EQ(j["sha256"], fp.out);
  auto serial = run_command("openssl x509 -noout -serial -in " + pki("officer-a.crt") +
                            " | sed 's/.*=//' | tr -d '\\n'");
  EXPECT_EQ(j["serial"], serial.out);
  EXPECT_TRUE(j["peer"].get<std::string>().starts_with("127.0.0.1:"));
}

TEST_F(ServerTest, HandshakeFailsWithoutClientCertificate) {
  start(test_options());
  auto r = curl(port_, "/v1/status", "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(http_status(r), "200");
  EXPECT_EQ(metric("conntrail_api_tls_handshake_failures_total"), "1");
  EXPECT_EQ(metric("conntrail_api_requests_total{endpoint=\"/v1/status\",status=\"200\"}"),
            "absent");
}

TEST_F(ServerTest, HandshakeFailsWithRevokedCertificate) {
  start(test_options());
  auto r = curl(port_, "/v1/status", "revoked");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(metric("conntrail_api_tls_handshake_failures_total"), "1");
  // Without the CRL configured the same certificate is accepted: the CRL is what refuses it.
  auto o = test_options();
  o.crl.clear();
  ASSERT_TRUE(server_->reload_tls(o).has_value());
  EXPECT_EQ(curl(port_, "/v1/status", "revoked").exit_code, 0);
}

TEST_F(ServerTest, HandshakeFailsWithCertificateOfAnotherCa) {
  start(test_options());
  auto r = curl(port_, "/v1/status", "untrusted");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(metric("conntrail_api_tls_handshake_failures_total"), "1");
}

TEST_F(ServerTest, RefusesClientsThatDoNotNegotiateH2) {
  start(test_options());
  auto r = curl(port_, "/v1/status", "officer-a", "--http1.1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(http_status(r), "200");
}

TEST_F(ServerTest, Tls12OnlyWhenConfigured) {
  start(test_options());
  EXPECT_NE(curl(port_, "/v1/status", "officer-a", "--tls-max 1.2").exit_code, 0);
  EXPECT_EQ(metric("conntrail_api_tls_handshake_failures_total"), "1");
  auto o = test_options();
  o.tls_min_version = agent::TlsVersion::kTls12;
  ASSERT_TRUE(server_->reload_tls(o).has_value());
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-a", "--tls-max 1.2")), "200");
}

TEST_F(ServerTest, StreamsABodySourceThroughResumeWithTrailers) {
  start(test_options());
  auto r = h2client("get", port_, "officer-a", "--path /stream");
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "chunk-" + std::to_string(i) + "\\n";
  EXPECT_EQ(r.out, "status=200 body=\"" + expected + "\" trailers={\"x-chunks\": \"50\"}\n");
}

TEST_F(ServerTest, HeadGetsHeadersWithoutBody) {
  start(test_options());
  auto r = curl(port_, "/v1/status", "officer-a", "-I");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(http_status(r).substr(0, 3), "200");
  EXPECT_NE(r.out.find("content-length:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"method\""), std::string::npos) << r.out;
}

TEST_F(ServerTest, StreamsOverTheConcurrentLimitAreRefused) {
  auto o = test_options();
  o.max_concurrent_streams = 10;
  start(o);
  auto r = h2client("many-streams", port_, "officer-a", "--count 25");
  EXPECT_EQ(r.out, "refused=15\n");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, HandlerExceptionBecomes500) {
  start(test_options());
  auto r = curl(port_, "/throw", "officer-a");
  EXPECT_EQ(http_status(r), "500");
  EXPECT_EQ(metric("conntrail_api_handler_exceptions_total"), "1");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-a")), "200");
}

TEST_F(ServerTest, RequestBodyOverTheLimitGets413) {
  auto o = test_options();
  o.max_request_body = 64 * 1024;
  start(o);
  // Declared length over the limit (curl sends content-length).
  auto big = run_command("head -c 100000 /dev/zero > " + pki("big.bin"));
  auto r = curl(port_, "/upload", "officer-a", "--data-binary @" + pki("big.bin"));
  EXPECT_EQ(http_status(r), "413") << r.out;
  // No content-length: counted while it arrives.
  auto p = h2client("post", port_, "officer-a", "--path /upload --body-size 1000000");
  EXPECT_EQ(p.out, "status=413\n");
  // Under the limit is fine.
  auto ok = curl(port_, "/upload", "officer-a", "--data-binary 'small'");
  EXPECT_EQ(http_status(ok), "200");
  EXPECT_NE(ok.out.find("\"body_size\":5"), std::string::npos) << ok.out;
}

TEST_F(ServerTest, RequestBodiesOfOneConnectionShareABoundedBudget) {
  auto o = test_options();
  o.max_request_body = 64 * 1024;  // budget: 1 MiB per connection
  start(o);
  // 30 streams x 60000 bytes = 1.8 MB would be held without the budget.
  auto r = h2client("many-bodies", port_, "officer-a", "--count 30 --body-size 60000");
  EXPECT_TRUE(r.out.starts_with("503=")) << r.out;
  const int refused = std::stoi(r.out.substr(4));
  EXPECT_GE(refused, 30 - 1048576 / 60000);
  EXPECT_EQ(metric("conntrail_api_streams_refused_total{reason=\"connection_body_budget\"}"),
            std::to_string(refused));
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, RequestsPerMinutePerCertificateGet429) {
  auto o = test_options();
  o.requests_per_minute = 2;
  start(o);
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-a")), "200");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-a")), "200");
  auto r = curl(port_, "/v1/status", "officer-a");
  EXPECT_EQ(http_status(r), "429");
  EXPECT_NE(r.out.find("\"status\":429"), std::string::npos);
  // Another officer has their own budget.
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, ConnectionsOverThePerAddressLimitAreRefused) {
  auto o = test_options();
  o.max_connections_per_address = 1;
  start(o);
  auto idle = std::async(std::launch::async,
                         [&] { return h2client("idle", port_, "officer-a", "--seconds 4"); });
  // Wait until the idle client's connection is counted.
  for (int i = 0; i < 100 && server_->connection_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(server_->connection_count(), 1u);
  auto r = curl(port_, "/v1/status", "officer-a");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(
      metric("conntrail_api_connections_rejected_total{reason=\"max_connections_per_address\"}"),
      "1");
  idle.get();
}

TEST_F(ServerTest, ConnectionsOverTheTotalLimitAreRefused) {
  auto o = test_options();
  o.max_connections = 1;
  o.max_connections_per_address = 1;
  start(o);
  auto idle = std::async(std::launch::async,
                         [&] { return h2client("idle", port_, "officer-a", "--seconds 4"); });
  for (int i = 0; i < 100 && server_->connection_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(curl(port_, "/v1/status", "officer-b").exit_code, 0);
  EXPECT_EQ(metric("conntrail_api_connections_rejected_total{reason=\"max_connections\"}"), "1");
  idle.get();
}

TEST_F(ServerTest, HandshakeNeverStartedIsClosedAfterHandshakeTimeout) {
  auto o = test_options();
  o.handshake_timeout = std::chrono::seconds(1);
  start(o);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port_));
  sin.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  ::send(fd.get(), "\x16\x03\x01", 3, 0);  // a TLS record header, then silence (slowloris)
  pollfd p{fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1) << "server kept a silent handshake open";
  char c;
  EXPECT_LE(::recv(fd.get(), &c, 1, 0), 0);
  EXPECT_EQ(metric("conntrail_api_timeouts_total{kind=\"handshake\"}"), "1");
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  auto o = test_options();
  o.idle_timeout = std::chrono::seconds(1);
  start(o);
  auto r = h2client("idle", port_, "officer-a", "--seconds 10");
  EXPECT_TRUE(r.out.starts_with("closed")) << r.out;
  EXPECT_EQ(metric("conntrail_api_timeouts_total{kind=\"idle\"}"), "1");
}

TEST_F(ServerTest, RapidResetEndsTheConnectionWithEnhanceYourCalm) {
  auto o = test_options();
  o.max_resets_per_window = 100;
  start(o);
  auto attack = std::async(std::launch::async, [&] {
    return h2client("rapid-reset", port_, "officer-a", "--count 2000");
  });
  // A second client is served while the first misbehaves.
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
  auto r = attack.get();
  EXPECT_EQ(r.out, "goaway=11\n");  // ENHANCE_YOUR_CALM
  EXPECT_EQ(metric("conntrail_api_abuse_total{kind=\"rapid_reset\"}"), "1");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, HeaderListOverTheLimitResetsTheStream) {
  auto o = test_options();
  o.max_header_list_size = 16 * 1024;
  start(o);
  auto r = h2client("header-flood", port_, "officer-a", "--count 400");
  EXPECT_TRUE(r.out.starts_with("reset=")) << r.out;
  EXPECT_EQ(metric("conntrail_api_streams_refused_total{reason=\"header_list_too_large\"}"), "1");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, HpackBombIsBoundedByTheDecodedHeaderListSize) {
  start(test_options());
  // ~4 KB on the wire, 400 KB decoded.
  auto r = h2client("hpack-bomb", port_, "officer-a", "--count 100");
  EXPECT_TRUE(r.out.starts_with("reset=")) << r.out;
  const auto wire = std::stoul(r.out.substr(r.out.find("wire=") + 5));
  EXPECT_LT(wire, 4500u);
  EXPECT_EQ(metric("conntrail_api_streams_refused_total{reason=\"header_list_too_large\"}"), "1");
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, ContinuationFloodEndsTheConnection) {
  start(test_options());
  auto r = h2client("continuation-flood", port_, "officer-a", "--count 50");
  EXPECT_TRUE(r.out.starts_with("goaway=") || r.out.starts_with("closed")) << r.out;
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, PingFloodDoesNotStopOtherClients) {
  auto o = test_options();
  o.idle_timeout = std::chrono::seconds(2);
  start(o);
  auto attack = std::async(std::launch::async, [&] {
    return h2client("ping-flood", port_, "officer-a", "--count 200000 --seconds 6");
  });
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
  auto r = attack.get();
  EXPECT_TRUE(r.out.starts_with("closed")) << r.out;
  EXPECT_EQ(http_status(curl(port_, "/v1/status", "officer-b")), "200");
}

TEST_F(ServerTest, ClientThatNeverReadsTcpIsClosedAfterIdleTimeout) {
  expect_slow_reader_closed("big", "stalled_output");
}

TEST_F(ServerTest, ClientThatNeverOpensItsWindowIsClosedAfterIdleTimeout) {
  expect_slow_reader_closed("tiny", "idle");
}

TEST_F(ServerTest, ReloadedTlsContextAppliesToNewConnections) {
  start(test_options());
  EXPECT_EQ(curl(port_, "/v1/status", "officer-a").exit_code, 0);
  // A reload that fails keeps the old context.
  auto bad = test_options();
  bad.tls_key = pki("missing.key");
  auto err = server_->reload_tls(bad);
  ASSERT_FALSE(err.has_value());
  EXPECT_NE(err.error().message.find("api.tls_key"), std::string::npos);
  EXPECT_EQ(curl(port_, "/v1/status", "officer-a").exit_code, 0);
  // Trust another CA: officers of the first are refused, the other CA's client is served.
  auto other = test_options();
  other.client_ca = pki("untrusted-ca.crt");
  other.crl.clear();
  ASSERT_TRUE(server_->reload_tls(other).has_value());
  EXPECT_NE(curl(port_, "/v1/status", "officer-a").exit_code, 0);
  EXPECT_EQ(curl(port_, "/v1/status", "untrusted").exit_code, 0);
}

TEST_F(ServerTest, CreateFailsClearlyOnBadFilesAndBusyPort) {
  auto o = test_options();
  o.tls_cert = pki("nope.crt");
  auto s = Server::create(o, router);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("api.tls_cert"), std::string::npos);
  o = test_options();
  o.client_ca = pki("server.key");
  s = Server::create(o, router);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("api.client_ca"), std::string::npos);
  start(test_options());
  o = test_options();
  o.listen[0].port = static_cast<std::uint16_t>(port_);
  s = Server::create(o, router);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("bind"), std::string::npos);
}

TEST_F(ServerTest, ListensOnIpv6Loopback) {
  auto o = test_options();
  o.listen[0] = agent::ListenAddress::parse("[::1]:0").value();
  start(o);
  auto r = run_command("curl -sS --max-time 10 --http2 --cacert " + pki("ca.crt") + " --cert " +
                       pki("officer-a.crt") + " --key " + pki("officer-a.key") +
                       " -o /dev/null -w '%{http_code}' https://[::1]:" + std::to_string(port_) +
                       "/v1/status");
  EXPECT_EQ(r.out, "200");
}

}  // namespace
}  // namespace conntrail::http2
