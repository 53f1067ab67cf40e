// Shared fixture for the lawful API tests: a temp directory with an officers
// file and a journal, an injected clock, a fake flow and session store behind
// the FlowQueryFn and SessionQueryFn seams, and helpers that call
// LawfulApi::handle directly.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/api/lawful_api.h"

namespace conntrail::agent::testing {

// Certificates (by SHA-256) of the fixture's officers.
inline const std::string kCertA(64, 'a');  // police: requester + approver
inline const std::string kCertB(64, 'b');  // police: requester + approver
inline const std::string kCertC(64, 'c');  // police: requester only
inline const std::string kCertD(64, 'd');  // police: requester only
inline const std::string kCertE(64, 'e');  // police: approver only
inline const std::string kCertX(64, 'f');  // customs: requester + approver
inline const std::string kCertAuditor(std::string(63, '0') + "1");
inline const std::string kCertRevoked(std::string(63, '0') + "2");
inline const std::string kCertExpired(std::string(63, '0') + "3");
inline const std::string kCertUnknown(std::string(63, '0') + "4");

struct Drained {
  std::string body;
  http2::HeaderList trailers;
  http2::BodySource::Status end = http2::BodySource::Status::kEnd;
};

// Reads a streamed body to its end the way the server would: honouring
// kWouldBlock and waiting for resume. chunk bounds each read().
Drained drain(http2::HttpResponse& r, std::size_t chunk = 16384);

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // (Re)opens the API on the fixture's files with `options_`.
  void open_api();
  LawfulApiOptions& options() { return options_; }

  http2::HttpResponse call(const std::string& cert, const std::string& method,
                           const std::string& path, const std::string& body = {},
                           const std::string& query = {}, http2::HeaderList headers = {});
  nlohmann::json json_of(const http2::HttpResponse& r) const;

  std::string request_body(const std::string& selectors = R"([{"ip":"192.0.2.10"}])",
                           const std::string& from = "2026-11-01T00:00:00Z",
                           const std::string& to = "2026-11-02T00:00:00Z") const;
  // Creates a request as `cert` and returns its id (asserts 201).
  std::string create(const std::string& cert = kCertA,
                     const std::string& selectors = R"([{"ip":"192.0.2.10"}])");
  std::string create_approved();
  std::vector<nlohmann::json> journal_entries(const std::string& type = {}) const;
  void write_officers(const std::string& json);
  std::string officers_json() const;

  std::filesystem::path dir_;
  std::string journal_path_;
  std::string officers_path_;
  TimestampNs now_ = 0;
  std::vector<FlowRecord> flows_;  // the fake store
  std::vector<SessionRecord> sessions_;
  QueryCompleteness completeness_;
  std::vector<QuerySpec> session_specs_;  // what the session seam was asked
  std::atomic<int> queries_{0};
  LawfulApiOptions options_;
  std::unique_ptr<LawfulApi> api_;
};

std::string header_of(const http2::HttpResponse& r, std::string_view name);

SessionRecord make_session(const std::string& address, const std::string& subscriber,
                           TimestampNs start, TimestampNs end, const std::string& id = "s-1");

FlowRecord make_flow(const std::string& src, std::uint16_t sport, const std::string& dst,
                     std::uint16_t dport, TimestampNs first, std::uint64_t bytes = 100);

}  // namespace conntrail::agent::testing
