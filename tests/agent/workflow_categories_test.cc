// Tests for agent/workflow: the subscriber-sessions and attribution categories
// (validation of POST /v1/requests bodies, journal round trip through the
// request book) and agent/api/session_query (which sessions a selector selects).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/api/session_query.h"
#include "agent/workflow/new_request.h"
#include "agent/workflow/request_book.h"

namespace conntrail::agent {
namespace {

using Json = nlohmann::json;

const TimestampNs kNow = *parse_time("2026-11-20T00:00:00Z");

Json base() {
  return {{"case_reference", "C-17"},
          {"legal_basis", "court order"},
          {"justification", "who used the address"},
          {"categories", Json::array({"attribution"})},
          {"attribution", {{"ip", "100.64.1.7"}, {"port", 51000}, {"at", "2026-11-01T10:02:17Z"}}}};
}

Json flows_body(Json categories) {
  return {{"case_reference", "C-17"},
          {"legal_basis", "court order"},
          {"justification", "j"},
          {"selectors", Json::array({{{"ip", "100.64.1.7"}}})},
          {"from", "2026-11-01T00:00:00Z"},
          {"to", "2026-11-02T00:00:00Z"},
          {"categories", std::move(categories)}};
}

std::expected<NewRequest, FieldError> parse(const Json& j, RequestLimits limits = {}) {
  return parse_new_request(j.dump(), limits, kNow);
}

// The field a refused body is refused for.
std::string refused_field(const Json& j, RequestLimits limits = {}) {
  auto r = parse(j, limits);
  if (r) return "<accepted>";
  return r.error().field;
}

TEST(RequestCategoriesTest, FlowsSessionsOrBothAreAccepted) {
  for (const Json& cats : {Json::array({"flows"}), Json::array({"subscriber-sessions"}),
                           Json::array({"flows", "subscriber-sessions"})}) {
    auto r = parse(flows_body(cats));
    ASSERT_TRUE(r) << cats << ": " << r.error().field << " " << r.error().detail;
    EXPECT_EQ(r->categories.size(), cats.size());
    EXPECT_FALSE(r->attribution);
  }
  auto both = parse(flows_body(Json::array({"subscriber-sessions", "flows"})));
  ASSERT_TRUE(both);
  EXPECT_TRUE(both->asks("flows"));
  EXPECT_TRUE(both->asks("subscriber-sessions"));
  EXPECT_FALSE(both->asks("attribution"));
}

TEST(RequestCategoriesTest, UnknownOrDuplicateCategoriesNameTheEntry) {
  EXPECT_EQ(refused_field(flows_body(Json::array({"flows", "payload"}))), "categories[1]");
  EXPECT_EQ(refused_field(flows_body(Json::array({"subscriber-sessions", "subscriber-sessions"}))),
            "categories[1]");
  EXPECT_EQ(refused_field(flows_body(Json::array())), "categories");
  EXPECT_EQ(refused_field(flows_body(Json::array({7}))), "categories[0]");
}

TEST(RequestCategoriesTest, AttributionRequestBecomesOneSelectorAndAWindow) {
  auto r = parse(base());
  ASSERT_TRUE(r) << r.error().field << " " << r.error().detail;
  ASSERT_TRUE(r->attribution);
  EXPECT_EQ(r->attribution->address.to_string(), "100.64.1.7");
  EXPECT_EQ(r->attribution->port, 51000);
  EXPECT_EQ(r->attribution->at, *parse_time("2026-11-01T10:02:17Z"));
  EXPECT_EQ(r->attribution->window, 0);
  ASSERT_EQ(r->selectors.size(), 1u);
  EXPECT_EQ(r->selectors[0].kind, Selector::Kind::kAddress);
  EXPECT_EQ(r->selectors[0].port, 51000);
  EXPECT_EQ(r->from, r->attribution->at);
  EXPECT_EQ(r->to, r->attribution->at + 1);

  Json windowed = base();
  windowed["attribution"]["window_s"] = 30;
  windowed["attribution"].erase("port");
  auto w = parse(windowed);
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->attribution->port);
  EXPECT_EQ(w->attribution->window, 30 * kNsPerSecond);
  EXPECT_EQ(w->from, w->attribution->at - 30 * kNsPerSecond);
  EXPECT_EQ(w->to, w->attribution->at + 30 * kNsPerSecond + 1);
  EXPECT_EQ(attribution_to_json(*w->attribution).dump(),
            R"({"at":"2026-11-01T10:02:17.000000000Z","ip":"100.64.1.7","window_s":30})");
}

TEST(RequestCategoriesTest, AttributionIsAskedAloneWithoutSelectorsOrWindow) {
  Json j = base();
  j["categories"] = Json::array({"attribution", "flows"});
  EXPECT_EQ(refused_field(j), "categories");
  for (const char* key : {"selectors", "from", "to"}) {
    Json k = base();
    k[key] = key == std::string("selectors") ? Json::array({{{"ip", "100.64.1.7"}}})
                                             : Json("2026-11-01T00:00:00Z");
    EXPECT_EQ(refused_field(k), key);
  }
  Json missing = base();
  missing.erase("attribution");
  EXPECT_EQ(refused_field(missing), "attribution");
  // The member without the category is refused too: nothing is silently ignored.
  Json stray = flows_body(Json::array({"flows"}));
  stray["attribution"] = base()["attribution"];
  EXPECT_EQ(refused_field(stray), "attribution");
}

TEST(RequestCategoriesTest, AttributionMembersAreValidatedByName) {
  auto with = [](const char* key, Json value) {
    Json j = base();
    if (value.is_null()) {
      j["attribution"].erase(key);
    } else {
      j["attribution"][key] = std::move(value);
    }
    return j;
  };
  EXPECT_EQ(refused_field(with("ip", "100.64.1.300")), "attribution.ip");
  EXPECT_EQ(refused_field(with("ip", nullptr)), "attribution.ip");
  EXPECT_EQ(refused_field(with("ip", 7)), "attribution.ip");
  EXPECT_EQ(refused_field(with("port", 65536)), "attribution.port");
  EXPECT_EQ(refused_field(with("port", -1)), "attribution.port");
  EXPECT_EQ(refused_field(with("at", "yesterday")), "attribution.at");
  EXPECT_EQ(refused_field(with("at", nullptr)), "attribution.at");
  EXPECT_EQ(refused_field(with("window_s", 3601)), "attribution.window_s");
  EXPECT_EQ(refused_field(with("window_s", 1.5)), "attribution.window_s");
  EXPECT_EQ(refused_field(with("sweep", true)), "attribution.sweep");
  Json not_object = base();
  not_object["attribution"] = "100.64.1.7";
  EXPECT_EQ(refused_field(not_object), "attribution");
  // The window bound is configurable.
  RequestLimits tight;
  tight.max_attribution_window = 60 * kNsPerSecond;
  EXPECT_EQ(refused_field(with("window_s", 61), tight), "attribution.window_s");
  EXPECT_EQ(refused_field(with("window_s", 60), tight), "<accepted>");
}

TEST(RequestCategoriesTest, AttributionInstantMustBeInsideRetentionAndPast) {
  auto at = [](const std::string& when, int window_s = 0) {
    Json j = base();
    j["attribution"]["at"] = when;
    j["attribution"]["window_s"] = window_s;
    return j;
  };
  EXPECT_EQ(refused_field(at("2026-11-20T00:00:01Z")), "attribution.at");
  EXPECT_EQ(refused_field(at("2026-11-19T23:59:50Z", 60)), "attribution.window_s");
  EXPECT_EQ(refused_field(at("2026-11-19T23:59:50Z", 10)), "<accepted>");
  RequestLimits l;
  l.retention = 10 * kNsPerDay;
  EXPECT_EQ(refused_field(at("2026-11-09T23:59:59Z"), l), "attribution.at");
  EXPECT_EQ(refused_field(at("2026-11-10T00:00:30Z", 30), l), "<accepted>");
  EXPECT_EQ(refused_field(at("2026-11-10T00:00:30Z", 31), l), "attribution.at");
}

storage::JournalEntry entry(std::uint64_t seq, TimestampNs t, std::string_view type, Json f) {
  storage::JournalEntry e;
  e.seq = seq;
  e.time = t;
  e.type = std::string(type);
  e.fields = std::move(f);
  return e;
}

TEST(RequestCategoriesTest, AttributionAndDeliveryCategorySurviveJournalReplay) {
  const Officer a{"a", "A", "police", static_cast<std::uint8_t>(Role::kRequester), {}, false};
  auto parsed = parse(base());
  ASSERT_TRUE(parsed);
  RequestBook book;
  auto created = book.create_event(*parsed, a, "r-1", kNow, 1, 30 * kNsPerDay);
  ASSERT_TRUE(created);
  // Through text, as the journal stores it.
  const Json stored = Json::parse(created->dump());
  ASSERT_TRUE(book.apply(entry(1, kNow, journal_type::kRequestCreated, stored)));
  const LawfulRequest* r = book.find("r-1");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->body.attribution);
  EXPECT_EQ(r->body.attribution->address, parsed->attribution->address);
  EXPECT_EQ(r->body.attribution->port, parsed->attribution->port);
  EXPECT_EQ(r->body.attribution->at, parsed->attribution->at);
  EXPECT_EQ(r->body.categories, std::vector<std::string>{"attribution"});
  EXPECT_EQ(r->to_json(kNow)["attribution"]["ip"], "100.64.1.7");

  ASSERT_TRUE(book.apply(entry(2, kNow, journal_type::kRequestApproved,
                               {{"id", "r-1"}, {"officer", "b"}, {"agency", "police"}})));
  ASSERT_TRUE(book.apply(entry(3, kNow, journal_type::kResultDelivered,
                               {{"id", "r-1"},
                                {"officer", "a"},
                                {"category", "attribution"},
                                {"format", "json"},
                                {"records", std::uint64_t{1}},
                                {"finished", true}})));
  // An entry written before categories existed is a flows delivery.
  ASSERT_TRUE(book.apply(entry(4, kNow, journal_type::kResultDelivered,
                               {{"id", "r-1"}, {"officer", "a"}, {"records", std::uint64_t{2}}})));
  ASSERT_NE(r->last_delivery("attribution"), nullptr);
  EXPECT_EQ(r->last_delivery("attribution")->records, 1u);
  ASSERT_NE(r->last_delivery("flows"), nullptr);
  EXPECT_EQ(r->last_delivery("flows")->records, 2u);
  EXPECT_EQ(r->last_delivery("subscriber-sessions"), nullptr);

  // A journaled attribution that does not parse is corruption, not a silent flows request.
  Json bad = stored;
  bad["id"] = "r-2";
  bad["attribution"]["ip"] = "not an address";
  EXPECT_FALSE(book.apply(entry(5, kNow, journal_type::kRequestCreated, bad)));
}

SessionRecord session(const std::string& prefix, const std::string& subscriber, TimestampNs start,
                      TimestampNs end) {
  SessionRecord s;
  s.address = *IpPrefix::parse(prefix);
  s.subscriber = subscriber;
  s.start_ts = start;
  s.end_ts = end;
  return s;
}

Selector selector(const std::string& json) {
  auto s = selectors_from_json(Json::array({Json::parse(json)}), nullptr);
  EXPECT_TRUE(s) << json;
  return s ? s->front() : Selector{};
}

TEST(SessionSelectionTest, AddressPrefixAndSubscriberSelectSessions) {
  const auto v4 = session("100.64.1.7/32", "alice@isp", 100, 200);
  const auto pd = session("2001:db8:1:100::/56", "bob@isp", 100, 0);
  EXPECT_TRUE(session_matches(selector(R"({"ip":"100.64.1.7"})"), v4));
  EXPECT_TRUE(session_matches(selector(R"({"ip":"100.64.1.7","port":51000})"), v4))
      << "a session has no port: the address decides";
  EXPECT_FALSE(session_matches(selector(R"({"ip":"100.64.1.8"})"), v4));
  EXPECT_TRUE(session_matches(selector(R"({"ip":"2001:db8:1:1ff::7"})"), pd))
      << "an address inside a delegated prefix";
  EXPECT_FALSE(session_matches(selector(R"({"ip":"2001:db8:1:200::7"})"), pd));
  EXPECT_TRUE(session_matches(selector(R"({"prefix":"100.64.1.0/24"})"), v4));
  EXPECT_FALSE(session_matches(selector(R"({"prefix":"100.64.2.0/24"})"), v4));
  EXPECT_TRUE(session_matches(selector(R"({"prefix":"2001:db8:1::/48"})"), pd))
      << "a request prefix holding the session's";
  EXPECT_TRUE(session_matches(selector(R"({"prefix":"2001:db8:1:180::/60"})"), pd))
      << "a request prefix inside the session's";
  EXPECT_FALSE(session_matches(selector(R"({"prefix":"2001:db8:1:200::/56"})"), pd));
  EXPECT_FALSE(session_matches(selector(R"({"prefix":"100.64.0.0/10"})"), pd)) << "family";
  EXPECT_TRUE(session_matches(selector(R"({"subscriber":"alice@isp"})"), v4));
  EXPECT_FALSE(session_matches(selector(R"({"subscriber":"alice@isp"})"), pd));
}

TEST(SessionSelectionTest, WindowOverlapTreatsAnOpenSessionAsRunningOn) {
  const auto closed = session("100.64.1.7/32", "alice@isp", 100, 200);
  EXPECT_TRUE(session_overlaps(closed, 150, 160));
  EXPECT_TRUE(session_overlaps(closed, 0, 101));
  EXPECT_FALSE(session_overlaps(closed, 0, 100)) << "[from, to) ends before the start";
  EXPECT_FALSE(session_overlaps(closed, 200, 300)) << "[start, end) ended at 200";
  const auto open = session("100.64.1.7/32", "alice@isp", 100, 0);
  EXPECT_TRUE(session_overlaps(open, 1'000'000, 1'000'001));
  EXPECT_FALSE(session_overlaps(open, 0, 100));
}

}  // namespace
}  // namespace conntrail::agent
