// The [lawful] config section: parsed by Boost.Program_options, validated with the key named.
#include <gtest/gtest.h>

#include <boost/program_options.hpp>
#include <sstream>

#include "agent/api/lawful_api_config.h"

namespace conntrail::agent {
namespace {

namespace po = boost::program_options;

Result<LawfulApiOptions> parse(const std::string& ini) {
  LawfulApiConfig cfg;
  po::options_description d;
  add_lawful_api_options(d, cfg);
  po::variables_map vm;
  std::istringstream in(ini);
  po::store(po::parse_config_file(in, d, /*allow_unregistered=*/false), vm);
  po::notify(vm);
  return to_lawful_api_options(cfg, "/var/lib/conntrail");
}

TEST(LawfulApiConfigTest, DefaultsAndUnits) {
  auto o = parse("[lawful]\nofficers_file = /etc/conntrail/officers.json\nrequest_ttl_days = 7\n");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->journal_path, "/var/lib/conntrail/audit-journal.ndjson");
  EXPECT_EQ(o->approvals_required, 1u);
  EXPECT_EQ(o->request_ttl, 7 * kNsPerDay);
  EXPECT_EQ(o->limits.max_window, 31 * kNsPerDay);
  EXPECT_EQ(o->limits.min_prefix_v4, 24);
  EXPECT_EQ(o->result_buffer_bytes, 1024u * 1024u);
}

TEST(LawfulApiConfigTest, BadValuesNameTheKey) {
  auto zero = parse("[lawful]\nofficers_file = x\napprovals_required = 0\n");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("lawful.approvals_required"), std::string::npos);
  auto prefix = parse("[lawful]\nofficers_file = x\nmin_prefix_v6 = 129\n");
  ASSERT_FALSE(prefix);
  EXPECT_NE(prefix.error().message.find("lawful.min_prefix_v6"), std::string::npos);
  auto missing = parse("[lawful]\n");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("lawful.officers_file"), std::string::npos);
  EXPECT_THROW(parse("[lawful]\nofficers_file = x\ncolour = red\n"), po::error);
}

}  // namespace
}  // namespace conntrail::agent
