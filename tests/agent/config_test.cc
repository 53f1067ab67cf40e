// Tests of agent/config: every validation error names file, line, key and reason.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "agent/config/agent_config.h"

namespace conntrail::agent {
namespace {

// The keys without defaults; every test starts from this valid base.
const std::string kBase =
    "[api]\n"                                          // line 1
    "tls_cert = /etc/conntrail/server.crt\n"           // line 2
    "tls_key = /etc/conntrail/server.key\n"            // line 3
    "client_ca = /etc/conntrail/ca.crt\n"              // line 4
    "officers_file = /etc/conntrail/officers.json\n";  // line 5

ConfigErrors errors_of(const std::string& text) {
  auto r = parse_config(text, "test.conf");
  EXPECT_FALSE(r.has_value()) << "expected an error";
  return r.has_value() ? ConfigErrors{} : r.error();
}

// Exactly one error, at `line` for `key`, whose reason contains `needle`.
void expect_one_error(const std::string& text, int line, const std::string& key,
                      const std::string& needle) {
  auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "" : errors[0].to_string());
  EXPECT_EQ(errors[0].file, "test.conf");
  EXPECT_EQ(errors[0].line, line);
  EXPECT_EQ(errors[0].key, key);
  EXPECT_NE(errors[0].reason.find(needle), std::string::npos) << errors[0].reason;
}

TEST(ConfigTest, MinimalConfigGetsDocumentedDefaults) {
  auto c = parse_config(kBase, "test.conf");
  ASSERT_TRUE(c.has_value()) << c.error()[0].to_string();
  EXPECT_TRUE(c->capture.interfaces.empty());
  EXPECT_EQ(c->capture.snaplen, 512u);
  EXPECT_EQ(c->capture.tcp.idle, Seconds{300});
  EXPECT_EQ(c->capture.tunnel_mode, TunnelMode::kInner);
  EXPECT_EQ(c->storage.data_dir, "/var/lib/conntrail");
  EXPECT_EQ(c->storage.retention_months, 12u);
  ASSERT_EQ(c->api.listen.size(), 1u);
  EXPECT_EQ(c->api.listen[0].to_string(), "127.0.0.1:8443");
  EXPECT_EQ(c->api.tls_min_version, TlsVersion::kTls13);
  EXPECT_EQ(c->log.level, LogLevel::kInfo);
  EXPECT_TRUE(c->metrics.listen_enabled);
  EXPECT_EQ(c->metrics.listen.to_string(), "127.0.0.1:9469");
  EXPECT_EQ(c->source, "test.conf");
}

TEST(ConfigTest, ParsesEveryKind) {
  const std::string text = kBase +
                           "listen = 127.0.0.1:0\n"
                           "listen = [::1]:8443   # comment\n"
                           "max_header_list_size = 32KiB\n"
                           "idle_timeout = 2m\n"
                           "tls_min_version = 1.2\n"
                           "max_attribution_window = 10m\n"
                           "[capture]\n"
                           "interface = eth0\n"
                           "interface = eth1\n"
                           "promiscuous = yes\n"
                           "buffer_size = 128MiB\n"
                           "fragment_table_max_bytes = 1MiB\n"
                           "subscriber_prefix = 100.64.0.0/10\n"
                           "subscriber_prefix = 2001:db8::/32\n"
                           "tunnel_mode = outer\n"
                           "[storage]\nshard_period = day\nbatch_max_ms = 250\n"
                           "[log]\nlevel = debug\n"
                           "[metrics]\nlisten = off\ntextfile = /var/lib/node/conntrail.prom\n";
  auto c = parse_config(text, "test.conf");
  ASSERT_TRUE(c.has_value()) << c.error()[0].to_string();
  ASSERT_EQ(c->api.listen.size(), 2u);
  EXPECT_EQ(c->api.listen[0].port, 0);
  EXPECT_EQ(c->api.listen[1].to_string(), "[::1]:8443");
  EXPECT_EQ(c->api.max_header_list_size, 32u * 1024);
  EXPECT_EQ(c->api.idle_timeout, Seconds{120});
  EXPECT_EQ(c->api.tls_min_version, TlsVersion::kTls12);
  EXPECT_EQ(c->api.max_attribution_window, Seconds{600});
  EXPECT_EQ(c->capture.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(c->capture.promiscuous);
  EXPECT_EQ(c->capture.buffer_size, 128ull << 20);
  EXPECT_EQ(c->capture.fragment_table_max_bytes, 1ull << 20);
  ASSERT_EQ(c->capture.subscriber_prefixes.size(), 2u);
  EXPECT_EQ(c->capture.subscriber_prefixes[1].to_string(), "2001:db8::/32");
  EXPECT_EQ(c->capture.tunnel_mode, TunnelMode::kOuter);
  EXPECT_EQ(c->storage.shard_period, ShardPeriod::kDay);
  EXPECT_EQ(c->storage.batch_max_ms, Millis{250});
  EXPECT_EQ(c->log.level, LogLevel::kDebug);
  EXPECT_FALSE(c->metrics.listen_enabled);
  EXPECT_EQ(c->metrics.textfile, "/var/lib/node/conntrail.prom");
}

TEST(ConfigTest, PrintedConfigParsesBackToTheSameValue) {
  auto c = parse_config(kBase +
                            "listen = [::]:9000\n[capture]\nsubscriber_prefix = 10.0.0.0/8\n"
                            "udp_idle_timeout = 90\n",
                        "test.conf");
  ASSERT_TRUE(c.has_value());
  const std::string printed = format_config(*c);
  auto again = parse_config(printed, "test.conf");
  ASSERT_TRUE(again.has_value()) << again.error()[0].to_string() << "\n" << printed;
  EXPECT_EQ(*again, *c);
}

TEST(ConfigTest, UnknownKeyIsAnErrorWithItsLine) {
  expect_one_error(kBase + "max_streams = 5\n", 6, "api.max_streams", "unknown key");
}

TEST(ConfigTest, UnknownSectionIsAnError) {
  expect_one_error(kBase + "[captur]\nsnaplen = 100\n", 7, "captur.snaplen", "unknown key");
}

TEST(ConfigTest, KeyOutsideSectionIsAnError) {
  expect_one_error("snaplen = 100\n" + kBase, 1, "snaplen", "outside any [section]");
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  expect_one_error(kBase + "this is not a key\n", 6, "", "key = value");
  expect_one_error(kBase + "[broken\n", 6, "", "section");
}

TEST(ConfigTest, ReportsEveryErrorNotOnlyTheFirst) {
  auto errors = errors_of(kBase + "max_concurrent_streams = 0\nbogus = 1\n[log]\nlevel = loud\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].line, 6);
  EXPECT_EQ(errors[1].line, 7);
  EXPECT_EQ(errors[2].line, 9);
  EXPECT_EQ(errors[2].key, "log.level");
  EXPECT_EQ(errors[2].to_string(),
            "test.conf:9: log.level: must be one of error, warning, notice, info, debug, got "
            "\"loud\"");
}

TEST(ConfigTest, MissingRequiredKeysAreNamed) {
  auto errors = errors_of("[api]\ntls_cert = a\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].key, "api.tls_key");
  EXPECT_EQ(errors[0].line, 0);
  EXPECT_EQ(errors[0].reason, "required key missing");
  EXPECT_EQ(errors[1].key, "api.client_ca");
  EXPECT_EQ(errors[2].key, "api.officers_file");
  EXPECT_EQ(errors[0].to_string(), "test.conf: api.tls_key: required key missing");
}

TEST(ConfigTest, RequiredKeyMustNotBeEmpty) {
  expect_one_error("[api]\ntls_cert =\ntls_key = k\nclient_ca = c\nofficers_file = o\n", 2,
                   "api.tls_cert", "must not be empty");
}

TEST(ConfigTest, DuplicateSingleValuedKeyIsAnError) {
  expect_one_error(kBase + "idle_timeout = 10\nidle_timeout = 20\n", 7, "api.idle_timeout",
                   "more than once (first on line 6)");
}

struct RangeCase {
  std::string section;
  std::string line;
  std::string key;
  std::string needle;
};

class ConfigRangeTest : public ::testing::TestWithParam<RangeCase> {};

TEST_P(ConfigRangeTest, RejectsOutOfRangeOrMalformedValue) {
  const auto& p = GetParam();
  expect_one_error(kBase + "[" + p.section + "]\n" + p.line + "\n", 7, p.key, p.needle);
}

INSTANTIATE_TEST_SUITE_P(
    EveryValidatedKey, ConfigRangeTest,
    ::testing::Values(
        RangeCase{"capture", "snaplen = 63", "capture.snaplen", "from 64 to 262144"},
        RangeCase{"capture", "snaplen = 262145", "capture.snaplen", "from 64 to 262144"},
        RangeCase{"capture", "snaplen = -1", "capture.snaplen", "integer"},
        RangeCase{"capture", "snaplen = 12abc", "capture.snaplen", "integer"},
        RangeCase{"capture", "buffer_size = 1KiB", "capture.buffer_size", "from 1MiB to 2GiB"},
        RangeCase{"capture", "buffer_size = lots", "capture.buffer_size", "size"},
        RangeCase{"capture", "promiscuous = maybe", "capture.promiscuous", "true or false"},
        RangeCase{"capture", "tcp_idle_timeout = 0", "capture.tcp_idle_timeout", "from 1s to 1d"},
        RangeCase{"capture", "tcp_active_timeout = 2d", "capture.tcp_active_timeout", "1d"},
        RangeCase{"capture", "udp_idle_timeout = 5x", "capture.udp_idle_timeout", "duration"},
        RangeCase{"capture", "udp_active_timeout = 0", "capture.udp_active_timeout", "duration"},
        RangeCase{"capture", "icmp_idle_timeout = 0", "capture.icmp_idle_timeout", "duration"},
        RangeCase{"capture", "icmp_active_timeout = 0", "capture.icmp_active_timeout", "duration"},
        RangeCase{"capture", "other_idle_timeout = 0", "capture.other_idle_timeout", "duration"},
        RangeCase{"capture", "other_active_timeout = 0", "capture.other_active_timeout",
                  "duration"},
        RangeCase{"capture", "fragment_table_max_bytes = 1KiB",
                  "capture.fragment_table_max_bytes", "64KiB"},
        RangeCase{"capture", "flow_table_max_flows = 10", "capture.flow_table_max_flows",
                  "from 1000"},
        RangeCase{"capture", "subscriber_prefix = 10.0.0.0/33", "capture.subscriber_prefix",
                  "CIDR"},
        RangeCase{"capture", "flow_key_vlan = 2", "capture.flow_key_vlan", "true or false"},
        RangeCase{"capture", "tunnel_mode = both", "capture.tunnel_mode", "inner, outer"},
        RangeCase{"capture", "interface = this-name-is-too-long", "capture.interface",
                  "1-15 characters"},
        RangeCase{"capture", "bpf_filter = " + std::string(5000, 'x'), "capture.bpf_filter",
                  "longer than 4096"},
        RangeCase{"storage", "shard_period = week", "storage.shard_period", "hour, day"},
        RangeCase{"storage", "retention_months = 0", "storage.retention_months", "from 1 to 120"},
        RangeCase{"storage", "batch_max_rows = 0", "storage.batch_max_rows", "from 1"},
        RangeCase{"storage", "batch_max_ms = 60001", "storage.batch_max_ms", "milliseconds"},
        RangeCase{"storage", "queue_capacity = 10", "storage.queue_capacity", "from 1024"},
        RangeCase{"storage", "data_dir =", "storage.data_dir", "must not be empty"},
        RangeCase{"api", "listen = 127.0.0.1", "api.listen", "ADDRESS:PORT"},
        RangeCase{"api", "listen = ::1:8443", "api.listen", "[ADDRESS]:PORT"},
        RangeCase{"api", "listen = [127.0.0.1]:8443", "api.listen", "[ADDRESS]:PORT"},
        RangeCase{"api", "listen = localhost:8443", "api.listen", "ADDRESS:PORT"},
        RangeCase{"api", "listen = 127.0.0.1:65536", "api.listen", "port must be 0 to 65535"},
        RangeCase{"api", "tls_min_version = 1.1", "api.tls_min_version", "1.3, 1.2"},
        RangeCase{"api", "max_concurrent_streams = 0", "api.max_concurrent_streams",
                  "from 1 to 1000"},
        RangeCase{"api", "max_header_list_size = 100", "api.max_header_list_size", "1KiB"},
        RangeCase{"api", "max_request_body = 17MiB", "api.max_request_body", "16MiB"},
        RangeCase{"api", "max_connections = 0", "api.max_connections", "from 1"},
        RangeCase{"api", "max_connections_per_address = 0", "api.max_connections_per_address",
                  "from 1"},
        RangeCase{"api", "idle_timeout = 2h", "api.idle_timeout", "1h"},
        RangeCase{"api", "handshake_timeout = 0", "api.handshake_timeout", "from 1s"},
        RangeCase{"api", "requests_per_minute = 0", "api.requests_per_minute", "from 1"},
        RangeCase{"api", "max_resets_per_window = 0", "api.max_resets_per_window", "from 1"},
        RangeCase{"api", "reset_window = 0", "api.reset_window", "from 1s"},
        RangeCase{"api", "approvals_required = 0", "api.approvals_required", "from 1 to 10"},
        RangeCase{"api", "max_query_window_days = 0", "api.max_query_window_days", "from 1"},
        RangeCase{"api", "request_expiry_days = 0", "api.request_expiry_days", "from 1"},
        RangeCase{"api", "max_selectors = 0", "api.max_selectors", "from 1"},
        RangeCase{"api", "max_attribution_window = 2d", "api.max_attribution_window", "1d"},
        RangeCase{"api", "min_prefix_v4 = 7", "api.min_prefix_v4", "from 8 to 32"},
        RangeCase{"api", "min_prefix_v6 = 129", "api.min_prefix_v6", "from 16 to 128"},
        RangeCase{"log", "level = loud", "log.level", "error, warning"},
        RangeCase{"metrics", "listen = 9469", "metrics.listen", "or \"off\""},
        RangeCase{"metrics", "textfile_interval = 0", "metrics.textfile_interval", "from 1s"}));

TEST(ConfigTest, RepeatedInterfaceAndListenAreErrors) {
  expect_one_error(kBase + "[capture]\ninterface = eth0\ninterface = eth0\n", 8,
                   "capture.interface", "twice");
  expect_one_error(kBase + "listen = 127.0.0.1:1\nlisten = 127.0.0.1:1\n", 7, "api.listen",
                   "twice");
}

TEST(ConfigTest, PcapFileAndInterfaceAreExclusive) {
  expect_one_error(kBase + "[capture]\npcap_file = x.pcap\ninterface = eth0\n", 7,
                   "capture.pcap_file", "not both");
}

TEST(ConfigTest, PerAddressLimitMustNotExceedTotal) {
  expect_one_error(kBase + "max_connections = 4\nmax_connections_per_address = 5\n", 7,
                   "api.max_connections_per_address", "must not exceed");
}

TEST(ConfigTest, ActiveTimeoutMustNotBeShorterThanIdle) {
  expect_one_error(kBase + "[capture]\nudp_idle_timeout = 10m\nudp_active_timeout = 5m\n", 8,
                   "capture.udp_active_timeout", "shorter than");
}

TEST(ConfigTest, UnreadableFileIsOneError) {
  auto r = load_config("/nonexistent/conntrail.conf");
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].to_string(),
            "/nonexistent/conntrail.conf: cannot open the file for reading");
}

TEST(ConfigTest, ShippedConfigsAreValid) {
  for (const char* name : {"configs/conntrail.conf", "configs/demo.conf"}) {
    auto r = load_config(std::string(CONNTRAIL_SOURCE_DIR) + "/" + name);
    ASSERT_TRUE(r.has_value()) << r.error()[0].to_string();
  }
  auto prod = load_config(std::string(CONNTRAIL_SOURCE_DIR) + "/configs/conntrail.conf");
  EXPECT_TRUE(prod->capture.interfaces.empty()) << "no interface may be enabled by default";
  EXPECT_TRUE(prod->capture.pcap_file.empty());
}

TEST(DurationSizeTest, ParseUnits) {
  EXPECT_EQ(parse_duration("90").value(), Seconds{90});
  EXPECT_EQ(parse_duration("15m").value(), Seconds{900});
  EXPECT_EQ(parse_duration("2h").value(), Seconds{7200});
  EXPECT_EQ(parse_duration("1d").value(), Seconds{86400});
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("m").has_value());
  EXPECT_FALSE(parse_duration("99999999999999999999").has_value());
  EXPECT_EQ(parse_size("64KiB").value(), 65536u);
  EXPECT_EQ(parse_size("2M").value(), 2u << 20);
  EXPECT_FALSE(parse_size("1TiB").has_value());
  EXPECT_FALSE(parse_size("99999999999GiB").has_value());
}

}  // namespace
}  // namespace conntrail::agent

namespace conntrail::agent {
namespace {

// section.key of every `key = value` line, commented out or not.
std::set<std::string> documented_keys(const std::string& path) {
  std::ifstream in(path);
  std::set<std::string> keys;
  std::string line;
  std::string section;
  while (std::getline(in, line)) {
    if (line.starts_with("[")) {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    if (line.starts_with("#")) line = line.substr(1);
    const auto eq = line.find(" =");
    if (eq == std::string::npos || eq == 0 || line.find(' ') < eq) continue;
    keys.insert(section + "." + line.substr(0, eq));
  }
  return keys;
}

std::set<std::string> all_keys() {
  AgentConfig c;
  c.capture.interfaces = {"eth0"};
  c.api.listen.push_back(ListenAddress{});
  c.capture.subscriber_prefixes.push_back(IpPrefix::parse("10.0.0.0/8").value());
  c.attribution.radius_ports.push_back(1813);
  std::set<std::string> keys;
  std::istringstream in(format_config(c));
  std::string line;
  std::string section;
  while (std::getline(in, line)) {
    if (line.starts_with("["))
      section = line.substr(1, line.size() - 2);
    else if (auto eq = line.find(" = "); eq != std::string::npos)
      keys.insert(section + "." + line.substr(0, eq));
  }
  return keys;
}

TEST(ConfigDocsTest, ProductionConfigListsEveryKeyAndOnlyKnownKeys) {
  const auto documented =
      documented_keys(std::string(CONNTRAIL_SOURCE_DIR) + "/configs/conntrail.conf");
  EXPECT_EQ(documented, all_keys());
}

TEST(ConfigDocsTest, ConfigMdDocumentsEveryKey) {
  std::ifstream in(std::string(CONNTRAIL_SOURCE_DIR) + "/docs/CONFIG.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& key : all_keys()) {
    const std::string name = key.substr(key.find('.') + 1);
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << key << " missing in docs/CONFIG.md";
  }
}

TEST(ConfigRobustnessTest, ArbitraryInputNeverCrashes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "[]=#:. \n\tapicurelnx0123456789/-_\"\\\x01\xff";
  const std::string base = kBase + "[capture]\nsnaplen = 100\n[storage]\n";
  for (int i = 0; i < 2000; ++i) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 20);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (text.size() + 1);
      text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
    }
    auto r = parse_config(text, "fuzz.conf");
    if (!r) {
      for (const auto& err : r.error()) EXPECT_FALSE(err.reason.empty());
    }
  }
}

}  // namespace
}  // namespace conntrail::agent
