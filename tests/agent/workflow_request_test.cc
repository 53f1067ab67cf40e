// Tests for agent/workflow: request validation and the request book's rules and replay.
#include <gtest/gtest.h>

#include "agent/workflow/new_request.h"
#include "agent/workflow/request_book.h"
#include "agent/workflow/statistics.h"

namespace conntrail::agent {
namespace {

const TimestampNs kNow = *parse_time("2026-11-20T00:00:00Z");

std::string body_with(const std::string& selectors,
                      const std::string& from = "2026-11-01T00:00:00Z",
                      const std::string& to = "2026-11-02T00:00:00Z") {
  return R"({"case_reference":"C-17","legal_basis":"§ 100g StPO","warrant_reference":"W-9",
             "selectors":)" +
         selectors + R"(,"from":")" + from + R"(","to":")" + to +
         R"(","categories":["flows"],"justification":"suspected fraud"})";
}

TEST(NewRequestTest, AcceptsTheIssueExample) {
  auto r = parse_new_request(
      body_with(
          R"([{"ip":"192.0.2.10"},{"ip":"100.64.1.7","port":51000},{"prefix":"2001:db8:1::/56"},{"subscriber":"alice@isp"}])"),
      RequestLimits{}, kNow);
  ASSERT_TRUE(r) << r.error().field << " " << r.error().detail;
  ASSERT_EQ(r->selectors.size(), 4u);
  EXPECT_EQ(r->selectors[1].port, 51000);
  EXPECT_EQ(r->selectors[2].prefix.length(), 56);
  EXPECT_EQ(
      selectors_to_json(r->selectors).dump(),
      R"([{"ip":"192.0.2.10"},{"ip":"100.64.1.7","port":51000},{"prefix":"2001:db8:1::/56"},{"subscriber":"alice@isp"}])");
}

TEST(NewRequestTest, PrefixBreadthIsConfigurable) {
  RequestLimits narrow;
  narrow.min_prefix_v4 = 28;
  auto r = parse_new_request(body_with(R"([{"prefix":"198.51.100.0/24"}])"), narrow, kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "selectors[0].prefix");
  EXPECT_TRUE(
      parse_new_request(body_with(R"([{"prefix":"198.51.100.0/24"}])"), RequestLimits{}, kNow));
}

TEST(NewRequestTest, RetentionBoundIsRelativeToNow) {
  RequestLimits l;
  l.retention = 10 * kNsPerDay;
  auto r = parse_new_request(body_with(R"([{"ip":"192.0.2.1"}])"), l, kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "from");
}

struct Officers {
  Officer a{
      "a",
      "A",
      "police",
      static_cast<std::uint8_t>(Role::kRequester) | static_cast<std::uint8_t>(Role::kApprover),
      {},
      false};
  Officer b{
      "b",
      "B",
      "police",
      static_cast<std::uint8_t>(Role::kRequester) | static_cast<std::uint8_t>(Role::kApprover),
      {},
      false};
  Officer x{"x", "X", "customs", static_cast<std::uint8_t>(Role::kApprover), {}, false};
};

storage::JournalEntry entry(std::uint64_t seq, TimestampNs t, std::string_view type,
                            nlohmann::json f) {
  storage::JournalEntry e;
  e.seq = seq;
  e.time = t;
  e.type = std::string(type);
  e.fields = std::move(f);
  return e;
}

TEST(RequestBookTest, StateMachineFollowsTheTable) {
  Officers o;
  RequestBook book;
  auto req = parse_new_request(body_with(R"([{"ip":"192.0.2.1"}])"), RequestLimits{}, kNow);
  ASSERT_TRUE(req);
  auto created = book.create_event(*req, o.a, "r-1", kNow, 1, 30 * kNsPerDay);
  ASSERT_TRUE(created);
  ASSERT_TRUE(book.apply(entry(1, kNow, journal_type::kRequestCreated, *created)));
  const LawfulRequest* r = book.find("r-1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->state(kNow), RequestState::kAwaitingApproval);

  EXPECT_EQ(book.approve_event("r-1", o.a, kNow).error().code,
            ErrorCode::kPermission);  // own request
  EXPECT_EQ(book.approve_event("r-1", o.x, kNow).error().code,
            ErrorCode::kNotFound);  // other agency
  EXPECT_EQ(book.check_results("r-1", o.a, kNow).error().code, ErrorCode::kUnsupported);

  auto approved = book.approve_event("r-1", o.b, kNow);
  ASSERT_TRUE(approved);
  ASSERT_TRUE(book.apply(entry(2, kNow, journal_type::kRequestApproved, *approved)));
  EXPECT_EQ(r->state(kNow), RequestState::kApproved);
  EXPECT_EQ(book.approve_event("r-1", o.b, kNow).error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(book.check_results("r-1", o.a, kNow));
  EXPECT_TRUE(book.check_results("r-1", o.b, kNow));
  EXPECT_EQ(r->state(kNow + 30 * kNsPerDay), RequestState::kExpired);
  EXPECT_EQ(book.check_results("r-1", o.a, kNow + 30 * kNsPerDay).error().code,
            ErrorCode::kUnsupported);

  EXPECT_EQ(book.cancel_event("r-1", o.b, kNow).error().code,
            ErrorCode::kPermission);  // not its requester
  auto cancelled = book.cancel_event("r-1", o.a, kNow);
  ASSERT_TRUE(cancelled);
  ASSERT_TRUE(book.apply(entry(3, kNow, journal_type::kRequestCancelled, *cancelled)));
  EXPECT_EQ(r->state(kNow), RequestState::kCancelled);
  EXPECT_EQ(book.check_results("r-1", o.a, kNow).error().code, ErrorCode::kUnsupported);
}

TEST(RequestBookTest, ApprovalsRequiredIsNeverBelowOne) {
  Officers o;
  RequestBook book;
  auto req = parse_new_request(body_with(R"([{"ip":"192.0.2.1"}])"), RequestLimits{}, kNow);
  auto created = book.create_event(*req, o.a, "r-1", kNow, 0, kNsPerDay);
  ASSERT_TRUE(created);
  EXPECT_EQ((*created)["approvals_required"], 1);
  ASSERT_TRUE(book.apply(entry(1, kNow, journal_type::kRequestCreated, *created)));
  EXPECT_EQ(book.find("r-1")->state(kNow), RequestState::kAwaitingApproval);
}

TEST(RequestBookTest, ReplayOfAnApprovalForAnUnknownRequestIsCorrupt) {
  RequestBook book;
  auto r =
      book.apply(entry(1, kNow, journal_type::kRequestApproved, {{"id", "r-9"}, {"officer", "b"}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
}

TEST(RequestBookTest, IgnoresUnrelatedEntries) {
  RequestBook book;
  EXPECT_TRUE(
      book.apply(entry(1, kNow, journal_type::kAuthFailure, {{"reason", "unknown_certificate"}})));
  EXPECT_TRUE(book.all().empty());
}

}  // namespace
}  // namespace conntrail::agent

namespace conntrail::agent {
namespace {

// Bad input never crashes: mutated and random bodies give a FieldError or a request.
TEST(NewRequestTest, SurvivesMutatedAndRandomBodies) {
  const std::string seed = body_with(
      R"([{"ip":"192.0.2.10"},{"ip":"100.64.1.7","port":51000},{"prefix":"2001:db8:1::/56"},{"subscriber":"alice@isp"}])");
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = seed;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % b.size();
      switch (next() % 3) {
        case 0:
          b[pos] = static_cast<char>(next() & 0xff);
          break;
        case 1:
          b.erase(pos, 1 + next() % 8);
          break;
        default:
          b.insert(pos, std::string(1 + next() % 4, static_cast<char>(next() & 0xff)));
      }
      if (b.empty()) b = "{";
    }
    auto r = parse_new_request(b, RequestLimits{}, kNow);
    if (r) ++accepted;
  }
  EXPECT_LT(accepted, 20000);
  // Deep nesting within the body limit: the parser must not recurse itself to death.
  const std::string deep = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_FALSE(parse_new_request(deep, RequestLimits{}, kNow));
  const std::string deep_obj =
      "{\"selectors\":" + std::string(30000, '[') + std::string(30000, ']') + "}";
  EXPECT_FALSE(parse_new_request(deep_obj, RequestLimits{}, kNow));
}

}  // namespace
}  // namespace conntrail::agent
