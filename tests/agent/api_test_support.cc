#include "api_test_support.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

namespace conntrail::agent::testing {

namespace fs = std::filesystem;

Drained drain(http2::HttpResponse& r, std::size_t chunk) {
  Drained out;
  if (!r.stream) {
    out.body = r.body;
    return out;
  }
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  auto wake = std::make_shared<Wake>();
  r.stream->set_resume([wake] {
    std::lock_guard lock(wake->mu);
    wake->woken = true;
    wake->cv.notify_all();
  });
  std::vector<char> buf(chunk);
  for (;;) {
    {
      std::lock_guard lock(wake->mu);
      wake->woken = false;
    }
    auto c = r.stream->read(buf);
    if (c.status == http2::BodySource::Status::kData) {
      out.body.append(buf.data(), c.length);
      continue;
    }
    if (c.status == http2::BodySource::Status::kWouldBlock) {
      std::unique_lock lock(wake->mu);
      // Not a timing assertion: a generous bound so a bug hangs a test for
      // a minute instead of forever.
      if (!wake->cv.wait_for(lock, std::chrono::seconds(60), [&] { return wake->woken; })) {
        ADD_FAILURE() << "body source never resumed";
        out.end = http2::BodySource::Status::kError;
        return out;
      }
      continue;
    }
    out.body.append(buf.data(), c.length);
    out.end = c.status;
    out.trailers = r.stream->trailers();
    return out;
  }
}

std::string header_of(const http2::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

FlowRecord make_flow(const std::string& src, std::uint16_t sport, const std::string& dst,
                     std::uint16_t dport, TimestampNs first, std::uint64_t bytes) {
  FlowRecord f;
  f.src_ip = *IpAddress::parse(src);
  f.dst_ip = *IpAddress::parse(dst);
  f.src_port = sport;
  f.dst_port = dport;
  f.proto = 6;
  f.packets_fwd = 3;
  f.packets_rev = 2;
  f.bytes_fwd = bytes;
  f.bytes_rev = bytes / 2;
  f.first_ts = first;
  f.last_ts = first + kNsPerSecond;
  return f;
}

SessionRecord make_session(const std::string& address, const std::string& subscriber,
                           TimestampNs start, TimestampNs end, const std::string& id) {
  SessionRecord s;
  s.address = *IpPrefix::parse(address);
  s.subscriber = subscriber;
  s.source = SessionSource::kRadius;
  s.start_ts = start;
  s.end_ts = end;
  s.server = *IpAddress::parse("203.0.113.1");
  s.session_id = id;
  return s;
}

std::string ApiTest::officers_json() const {
  auto officer = [](const std::string& id, const std::string& agency, const std::string& roles,
                    const std::string& cert, const std::string& extra = {}) {
    return fmt::format(
        R"({{"id":"{}","name":"{} name","agency":"{}","roles":{},"certificate":{{"sha256":"{}"}}{}}})",
        id, id, agency, roles, cert, extra);
  };
  return "{\"officers\":[" + officer("officer-a", "police", R"(["requester","approver"])", kCertA) +
         "," + officer("officer-b", "police", R"(["requester","approver"])", kCertB) + "," +
         officer("officer-c", "police", R"(["requester"])", kCertC) + "," +
         officer("officer-d", "police", R"(["requester"])", kCertD) + "," +
         officer("officer-e", "police", R"(["approver"])", kCertE) + "," +
         officer("officer-x", "customs", R"(["requester","approver"])", kCertX) + "," +
         officer("auditor", "oversight", R"(["auditor"])", kCertAuditor) + "," +
         officer("revoked", "police", R"(["requester","approver","auditor"])", kCertRevoked,
                 R"(,"revoked":true)") +
         "," +
         officer("expired", "police", R"(["requester","approver","auditor"])", kCertExpired,
                 R"(,"expires":"2026-06-01T00:00:00Z")") +
         "]}";
}

void ApiTest::write_officers(const std::string& json) {
  std::ofstream out(officers_path_, std::ios::trunc);
  out << json;
}

void ApiTest::SetUp() {
  dir_ = fs::temp_directory_path() /
         fmt::format("api_test_{}_{}", ::getpid(),
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  journal_path_ = (dir_ / "audit-journal.ndjson").string();
  officers_path_ = (dir_ / "officers.json").string();
  write_officers(officers_json());
  now_ = *parse_time("2026-11-20T00:00:00Z");
  options_.journal_path = journal_path_;
  options_.officers_path = officers_path_;
  options_.journal.sync = false;
  flows_ = {
      make_flow("192.0.2.10", 40000, "198.51.100.1", 443, *parse_time("2026-11-01T10:00:00Z")),
      make_flow("203.0.113.5", 53, "192.0.2.10", 5353, *parse_time("2026-11-01T11:00:00Z")),
      make_flow("192.0.2.11", 40001, "198.51.100.1", 443, *parse_time("2026-11-01T12:00:00Z")),
      make_flow("192.0.2.10", 40002, "198.51.100.2", 80, *parse_time("2026-11-05T12:00:00Z")),
  };
  open_api();
}

void ApiTest::TearDown() {
  api_.reset();
  fs::remove_all(dir_);
}

void ApiTest::open_api() {
  api_.reset();
  FlowQueryFn query = [this](const QuerySpec& spec,
                             const FlowRowFn& on_row) -> Result<QueryCompleteness> {
    ++queries_;
    for (const auto& f : flows_) {
      if (f.last_ts < spec.from || f.first_ts >= spec.to) continue;
      bool hit = false;
      for (const auto& s : spec.selectors) hit = hit || s.matches(f);
      if (hit && !on_row(f)) break;
    }
    return completeness_;
  };
  SessionQueryFn sessions = [this](const QuerySpec& spec,
                                   const SessionRowFn& on_row) -> Result<QueryCompleteness> {
    session_specs_.push_back(spec);
    for (const auto& s : sessions_) {
      if (!session_overlaps(s, spec.from, spec.to)) continue;
      bool hit = false;
      for (const auto& sel : spec.selectors) hit = hit || session_matches(sel, s);
      if (hit && !on_row(s)) break;
    }
    return completeness_;
  };
  auto api = LawfulApi::open(options_, QueryFunctions{query, sessions}, [this] { return now_; });
  ASSERT_TRUE(api) << api.error().message;
  api_ = std::move(*api);
}

http2::HttpResponse ApiTest::call(const std::string& cert, const std::string& method,
                                  const std::string& path, const std::string& body,
                                  const std::string& query, http2::HeaderList headers) {
  http2::HttpRequest req;
  req.method = method;
  req.path = path;
  req.query = query;
  req.body = body;
  req.headers = std::move(headers);
  if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
  req.client.cert_sha256 = cert;
  req.client.subject = "CN=test";
  req.client.issuer = "CN=test CA";
  req.client.serial = "01";
  req.peer_address = "127.0.0.1:40000";
  return api_->handle(req);
}

nlohmann::json ApiTest::json_of(const http2::HttpResponse& r) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  return j;
}

std::string ApiTest::request_body(const std::string& selectors, const std::string& from,
                                  const std::string& to) const {
  return R"({"case_reference":"C-17","legal_basis":"court order","warrant_reference":"W-9","selectors":)" +
         selectors + R"(,"from":")" + from + R"(","to":")" + to +
         R"(","categories":["flows"],"justification":"suspected fraud"})";
}

std::string ApiTest::create(const std::string& cert, const std::string& selectors) {
  auto r = call(cert, "POST", "/v1/requests", request_body(selectors));
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = json_of(r);
  return j.value("id", std::string());
}

std::string ApiTest::create_approved() {
  const std::string id = create(kCertA);
  auto r = call(kCertB, "POST", "/v1/requests/" + id + "/approve");
  EXPECT_EQ(r.status, 200) << r.body;
  return id;
}

std::vector<nlohmann::json> ApiTest::journal_entries(const std::string& type) const {
  std::ifstream in(journal_path_);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (type.empty() || j["type"] == type) out.push_back(j);
  }
  return out;
}

}  // namespace conntrail::agent::testing
