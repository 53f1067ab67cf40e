// [attribution] keys: parsed, validated with a clear error, and mapped onto the capture
// pipeline's AttributionOptions (retention raised to the flow export bound).
#include <gtest/gtest.h>

#include "agent/config/agent_config.h"
#include "agent/runtime/module_options.h"

namespace conntrail::agent {
namespace {

const std::string kBase =
    "[api]\n"
    "tls_cert = /etc/conntrail/server.crt\n"
    "tls_key = /etc/conntrail/server.key\n"
    "client_ca = /etc/conntrail/ca.crt\n"
    "officers_file = /etc/conntrail/officers.json\n";

TEST(AttributionConfigTest, DefaultsMapToTheDocumentedAttribution) {
  const auto c = parse_config(kBase, "test.conf");
  ASSERT_TRUE(c.has_value());
  const auto a = attribution_options(*c);
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.dispatch.radius_accounting_ports, (std::vector<std::uint16_t>{1813, 1646}));
  EXPECT_EQ(a.tracker.open_bound, 86400 * kNsPerSecond);
  EXPECT_EQ(a.tracker.max_bindings, 1'000'000u);
  // Closed sessions stay past any flow's export (300 s active + 300 s idle + linger, sweep,
  // margin = 666 s with the agent's defaults), and never less than the tracker's own floor.
  EXPECT_EQ(a.tracker.closed_retention,
            std::max<TimestampNs>(capture::SessionTrackerConfig{}.closed_retention,
                                  (300 + 300 + 5 + 1 + 60) * kNsPerSecond));
  EXPECT_EQ(control_ports(a), (std::vector<std::uint16_t>{1813, 1646, 67, 68, 547, 546}));
}

TEST(AttributionConfigTest, KeysAreParsedAndMapped) {
  const auto c = parse_config(kBase +
                                  "[attribution]\nradius_port = 11813\nradius_port = 1813\n"
                                  "subscriber_id = circuit-id,mac\nopen_bound = 2h\n"
                                  "max_bindings = 5000\ncontrol_snaplen = 9000\nenabled = false\n",
                              "test.conf");
  ASSERT_TRUE(c.has_value()) << c.error()[0].to_string();
  EXPECT_EQ(c->attribution.control_snaplen, 9000u);
  const auto a = attribution_options(*c);
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.dispatch.radius_accounting_ports, (std::vector<std::uint16_t>{11813, 1813}));
  EXPECT_EQ(a.tracker.subscriber_id_order,
            (std::vector<capture::SubscriberIdKind>{capture::SubscriberIdKind::kCircuitId,
                                                    capture::SubscriberIdKind::kMac}));
  EXPECT_EQ(a.tracker.open_bound, 7200 * kNsPerSecond);
  EXPECT_EQ(a.tracker.max_bindings, 5000u);
  // Printed and parsed back: the same configuration.
  const auto again = parse_config(format_config(*c), "again.conf");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attribution, c->attribution);
}

TEST(AttributionConfigTest, BadValuesNameTheKey) {
  for (const char* bad : {"radius_port = 0", "radius_port = 70000", "subscriber_id = nonsense",
                          "open_bound = 10s", "max_bindings = 1", "control_snaplen = 100"}) {
    const auto c = parse_config(kBase + "[attribution]\n" + bad + "\n", "test.conf");
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error()[0].line, 7) << bad;
    EXPECT_EQ(c.error()[0].key.rfind("attribution.", 0), 0u) << c.error()[0].to_string();
  }
  const auto twice =
      parse_config(kBase + "[attribution]\nradius_port = 1813\nradius_port = 1813\n", "test.conf");
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error()[0].reason.find("twice"), std::string::npos);
}

TEST(AttributionConfigTest, AttributionWindowBoundReachesTheLawfulApi) {
  const auto defaults = parse_config(kBase, "test.conf");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(lawful_api_options(*defaults).limits.max_attribution_window,
            3600 * kNsPerSecond);
  const auto c = parse_config(kBase + "[api]\nmax_attribution_window = 90s\n", "test.conf");
  ASSERT_TRUE(c) << c.error()[0].to_string();
  EXPECT_EQ(lawful_api_options(*c).limits.max_attribution_window, 90 * kNsPerSecond);
}

TEST(AttributionConfigTest, CaptureMemoryCapsReachTheMeter) {
  const auto c = parse_config(kBase +
                                  "[capture]\ninterface = eth0\nflow_table_max_flows = 5000\n"
                                  "fragment_table_max_bytes = 1MiB\n",
                              "test.conf");
  ASSERT_TRUE(c) << c.error()[0].to_string();
  const auto m = meter_options(c->capture);
  EXPECT_EQ(m.flows.max_flows, 5000u);
  EXPECT_EQ(m.fragments.max_bytes, std::size_t{1} << 20);
}

}  // namespace
}  // namespace conntrail::agent
