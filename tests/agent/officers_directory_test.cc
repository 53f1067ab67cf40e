// Tests for agent/officers: parsing the officers file and identifying certificates.
#include <gtest/gtest.h>

#include <string>

#include "agent/officers/officer_directory.h"

namespace conntrail::agent {
namespace {

constexpr TimestampNs kNow = 1'795'000'000LL * kNsPerSecond;  // 2026-11-19

const std::string kFpA(64, 'a');

std::string file_with(const std::string& officer_json) {
  return R"({"officers":[)" + officer_json + "]}";
}

http2::ClientIdentity cert(std::string sha, std::string subject = {}, std::string issuer = {},
                           std::string serial = {}) {
  return {std::move(sha), std::move(subject), std::move(issuer), std::move(serial)};
}

TEST(OfficerDirectoryTest, IdentifiesByFingerprintInAnyNotation) {
  auto d = OfficerDirectory::parse(file_with(
      R"({"id":"a","name":"A","agency":"police","roles":["requester","approver"],
          "certificate":{"sha256":"AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA"}})"));
  ASSERT_TRUE(d) << d.error().message;
  auto who = (*d)->identify(cert(kFpA), kNow);
  ASSERT_TRUE(who);
  EXPECT_EQ((*who)->id, "a");
  EXPECT_TRUE((*who)->has(Role::kRequester));
  EXPECT_TRUE((*who)->has(Role::kApprover));
  EXPECT_FALSE((*who)->has(Role::kAuditor));
  EXPECT_EQ((*d)->identify(cert(std::string(64, 'b')), kNow).error(), IdentityFailure::kUnknown);
}

TEST(OfficerDirectoryTest, IdentifiesByIssuerAndSerial) {
  auto d = OfficerDirectory::parse(file_with(
      R"({"id":"a","name":"A","agency":"p","roles":["auditor"],
          "certificate":{"issuer":"CN=Demo CA,O=conntrail","serial":"00:1a:2B"}})"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE((*d)->identify(cert("", "CN=x", "CN=Demo CA,O=conntrail", "1A2B"), kNow));
  EXPECT_FALSE((*d)->identify(cert("", "CN=x", "CN=Other CA", "1A2B"), kNow));
  EXPECT_FALSE((*d)->identify(cert("", "CN=x", "CN=Demo CA,O=conntrail", "1A2C"), kNow));
}

TEST(OfficerDirectoryTest, IdentifiesBySubjectAndIssuerCommonName) {
  auto d = OfficerDirectory::parse(file_with(
      R"({"id":"a","name":"A","agency":"p","roles":["auditor"],
          "certificate":{"subject_cn":"officer-a","issuer_cn":"conntrail demo CA"}})"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE((*d)->identify(cert("ff", "CN=officer-a,O=Demo", "O=x,CN=conntrail demo CA"), kNow));
  EXPECT_FALSE((*d)->identify(cert("ff", "CN=officer-b,O=Demo", "CN=conntrail demo CA"), kNow));
}

TEST(OfficerDirectoryTest, RevokedAndExpiredOfficersIdentifyNobody) {
  auto d = OfficerDirectory::parse(
      R"({"officers":[
        {"id":"r","name":"R","agency":"p","roles":["requester"],"revoked":true,
         "certificate":{"sha256":")" +
      std::string(64, '1') + R"("}},
        {"id":"e","name":"E","agency":"p","roles":["requester"],"expires":"2026-01-01T00:00:00Z",
         "certificate":{"sha256":")" +
      std::string(64, '2') + R"("}},
        {"id":"f","name":"F","agency":"p","roles":["requester"],"expires":"2027-01-01T00:00:00Z",
         "certificate":{"sha256":")" +
      std::string(64, '3') + R"("}}]})");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ((*d)->identify(cert(std::string(64, '1')), kNow).error(), IdentityFailure::kRevoked);
  EXPECT_EQ((*d)->identify(cert(std::string(64, '2')), kNow).error(), IdentityFailure::kExpired);
  EXPECT_TRUE((*d)->identify(cert(std::string(64, '3')), kNow));
}

struct BadFile {
  std::string json;
  std::string names;  // expected in the error message
};

class OfficerDirectoryRejectsTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(OfficerDirectoryRejectsTest, NamesTheBadKey) {
  auto d = OfficerDirectory::parse(GetParam().json);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find(GetParam().names), std::string::npos) << d.error().message;
}

const std::string kGood =
    R"("id":"a","name":"A","agency":"p","roles":["requester"],"certificate":{"sha256":")" +
    std::string(64, 'a') + R"("})";

INSTANTIATE_TEST_SUITE_P(
    Files, OfficerDirectoryRejectsTest,
    ::testing::Values(
        BadFile{"not json", "not valid JSON"}, BadFile{"[]", "top level"},
        BadFile{R"({"officers":[],"extra":1})", "extra: unknown key"},
        BadFile{"{\"officers\":[{" + kGood + ",\"colour\":\"red\"}]}", "officers[0].colour"},
        BadFile{
            R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["admin"],"certificate":{"sha256":")" +
                std::string(64, 'a') + R"("}}]})",
            "officers[0].roles[0]"},
        BadFile{
            R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["requester"],"certificate":{"sha256":"abc"}}]})",
            "officers[0].certificate.sha256"},
        BadFile{
            R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["requester"],"certificate":{"issuer":"CN=x"}}]})",
            "officers[0].certificate"},
        BadFile{R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["requester"]}]})",
                "officers[0].certificate: missing"},
        BadFile{
            R"({"officers":[{"id":"a b","name":"A","agency":"p","roles":["requester"],"certificate":{"sha256":")" +
                std::string(64, 'a') + R"("}}]})",
            "officers[0].id"},
        BadFile{"{\"officers\":[{" + kGood + "},{" + kGood + "}]}", "duplicate id"},
        BadFile{
            R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["requester"],"expires":"soon","certificate":{"sha256":")" +
                std::string(64, 'a') + R"("}}]})",
            "officers[0].expires"}));

TEST(OfficerDirectoryTest, SameCertificateTwiceIsRejected) {
  const std::string fp = std::string(64, 'a');
  auto d = OfficerDirectory::parse(
      R"({"officers":[{"id":"a","name":"A","agency":"p","roles":["requester"],"certificate":{"sha256":")" +
      fp +
      R"("}},{"id":"b","name":"B","agency":"p","roles":["approver"],"certificate":{"sha256":")" +
      fp + R"("}}]})");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("officers[1].certificate"), std::string::npos);
}

TEST(OfficerDirectoryTest, LoadReportsMissingFile) {
  auto d = OfficerDirectory::load("/nonexistent/officers.json");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
}

TEST(OfficerDirectoryTest, DemoOfficersFileParses) {
  auto d =
      OfficerDirectory::load(std::string(CONNTRAIL_SOURCE_DIR) + "/configs/demo-officers.json");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ((*d)->size(), 3u);
}

TEST(CommonNameTest, ParsesRfc2253) {
  EXPECT_EQ(common_name("CN=officer-a,O=Demo"), "officer-a");
  EXPECT_EQ(common_name("O=Demo, CN=a\\,b"), "a,b");
  EXPECT_EQ(common_name("O=Demo"), "");
  EXPECT_EQ(normalize_serial("00:0A"), "A");
  EXPECT_EQ(normalize_fingerprint("AB:cd"), "abcd");
}

}  // namespace
}  // namespace conntrail::agent
