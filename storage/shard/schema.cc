// storage/shard/schema.cc — see schema.h.
#include "storage/shard/schema.h"

#include <fmt/format.h>

#include <algorithm>

namespace conntrail::storage {

const std::string_view kCommonSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  packets INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
  decode_errors INTEGER NOT NULL DEFAULT 0, kernel_drops INTEGER NOT NULL DEFAULT 0,
  interface_drops INTEGER NOT NULL DEFAULT 0, queue_drops INTEGER NOT NULL DEFAULT 0,
  flows_exported INTEGER NOT NULL DEFAULT 0, flows_evicted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions(
  id INTEGER PRIMARY KEY,
  addr_lo BLOB NOT NULL, addr_hi BLOB NOT NULL, prefix_len INTEGER NOT NULL,
  family INTEGER NOT NULL, subscriber TEXT NOT NULL, mac BLOB NOT NULL, duid TEXT NOT NULL,
  source INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,
  end_assumed INTEGER NOT NULL, precision INTEGER NOT NULL,
  server BLOB NOT NULL, server_family INTEGER NOT NULL, session_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_addr ON sessions(addr_lo);
CREATE INDEX IF NOT EXISTS sessions_by_subscriber ON sessions(subscriber);
)sql";

const std::string_view kInsertSessionSql =
    "INSERT INTO sessions(addr_lo, addr_hi, prefix_len, family, subscriber, mac, duid, source,"
    " start_ts, end_ts, end_assumed, precision, server, server_family, session_id)"
    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

const std::string_view kSelectSessionColumns =
    "SELECT addr_lo, addr_hi, prefix_len, family, subscriber, mac, duid, source, start_ts, end_ts,"
    " end_assumed, precision, server, server_family, session_id";

const std::string_view kAddCountersSql =
    "INSERT INTO counters(id, packets, bytes, decode_errors, kernel_drops, interface_drops,"
    " queue_drops, flows_exported, flows_evicted) VALUES(1,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(id) DO UPDATE SET packets = packets + excluded.packets,"
    " bytes = bytes + excluded.bytes, decode_errors = decode_errors + excluded.decode_errors,"
    " kernel_drops = kernel_drops + excluded.kernel_drops,"
    " interface_drops = interface_drops + excluded.interface_drops,"
    " queue_drops = queue_drops + excluded.queue_drops,"
    " flows_exported = flows_exported + excluded.flows_exported,"
    " flows_evicted = flows_evicted + excluded.flows_evicted";

std::span<const std::uint8_t> address_key(const IpAddress& a) noexcept { return a.bytes(); }

IpAddress address_from_key(std::span<const std::uint8_t> key, bool v4) noexcept {
  if (key.size() != 16) return {};
  if (v4) return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(key.data() + 12, 4));
  return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(key.data(), 16));
}

Result<void> write_meta(sql::Db& db, const ShardPeriod& period, std::string_view form) {
  auto st = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  if (!st) return std::unexpected(st.error());
  struct KV {
    std::string_view key;
    std::int64_t value;
  };
  for (const KV& kv : {KV{"schema_version", kSchemaVersion}, KV{"period_start", period.start},
                       KV{"period_seconds", period.seconds}}) {
    st->bind(1, kv.key).bind(2, kv.value);
    if (auto r = st->run(); !r) return r;
  }
  st->bind(1, std::string_view("form")).bind(2, form);
  if (auto r = st->run(); !r) return r;
  return db.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
}

Result<ShardMeta> read_meta(sql::Db& db) {
  auto st = db.prepare("SELECT key, value FROM meta");
  if (!st) return std::unexpected(st.error());
  ShardMeta m;
  bool have_start = false, have_seconds = false;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const auto key = st->column_text(0);
    if (key == "schema_version") m.schema_version = st->column_int(1);
    if (key == "period_start") {
      m.period.start = st->column_int(1);
      have_start = true;
    }
    if (key == "period_seconds") {
      m.period.seconds = st->column_int(1);
      have_seconds = true;
    }
    if (key == "form") m.form = std::string(st->column_text(1));
  }
  if (!have_start || !have_seconds || m.schema_version == 0) {
    return fail(ErrorCode::kCorrupt, db.path().string() + ": shard meta incomplete");
  }
  if (m.schema_version > kSchemaVersion) {
    return fail(ErrorCode::kUnsupported,
                fmt::format("{}: schema version {} is newer than this build ({})",
                            db.path().string(), m.schema_version, kSchemaVersion));
  }
  return m;
}

Result<void> write_merged_from(sql::Db& db, const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& n : names) {
    if (!joined.empty()) joined += '\n';
    joined += n;
  }
  auto st = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES('merged_from', ?)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, std::string_view(joined));
  return st->run();
}

Result<std::vector<std::string>> read_merged_from(sql::Db& db) {
  auto st = db.prepare("SELECT value FROM meta WHERE key = 'merged_from'");
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  std::vector<std::string> names;
  if (!*row) return names;
  const std::string_view all = st->column_text(0);
  std::size_t from = 0;
  while (from < all.size()) {
    const auto nl = std::min(all.find('\n', from), all.size());
    if (nl > from) names.emplace_back(all.substr(from, nl - from));
    from = nl + 1;
  }
  return names;
}

Result<void> insert_session(sql::Statement& st, const SessionRecord& s) {
  const IpAddress last = s.address.last();
  st.bind_blob(1, address_key(s.address.network()))
      .bind_blob(2, address_key(last))
      .bind(3, static_cast<std::int64_t>(s.address.length()))
      .bind(4, static_cast<std::int64_t>(s.address.network().is_v4() ? 4 : 6))
      .bind(5, s.subscriber)
      .bind_blob(6, s.mac)
      .bind(7, s.duid)
      .bind(8, static_cast<std::int64_t>(s.source))
      .bind(9, s.start_ts)
      .bind(10, s.end_ts)
      .bind(11, static_cast<std::int64_t>(s.end_assumed ? 1 : 0))
      .bind(12, static_cast<std::int64_t>(s.precision))
      .bind_blob(13, address_key(s.server))
      .bind(14, static_cast<std::int64_t>(s.server.is_v4() ? 4 : 6))
      .bind(15, s.session_id);
  return st.run();
}

SessionRecord read_session(const sql::Statement& st) {
  SessionRecord s;
  const bool v4 = st.column_int(3) == 4;
  const IpAddress net = address_from_key(st.column_blob(0), v4);
  auto prefix = IpPrefix::make(net, static_cast<int>(st.column_int(2)));
  if (prefix) s.address = *prefix;
  s.subscriber = std::string(st.column_text(4));
  const auto mac = st.column_blob(5);
  if (mac.size() == 6) std::copy(mac.begin(), mac.end(), s.mac.begin());
  s.duid = std::string(st.column_text(6));
  s.source = static_cast<SessionSource>(st.column_int(7) % 3);
  s.start_ts = st.column_int(8);
  s.end_ts = st.column_int(9);
  s.end_assumed = st.column_int(10) != 0;
  s.precision = st.column_int(11) == 9 ? TimePrecision::kNano : TimePrecision::kMicro;
  s.server = address_from_key(st.column_blob(12), st.column_int(13) == 4);
  s.session_id = std::string(st.column_text(14));
  return s;
}

Result<CaptureCounters> read_counters(sql::Db& db) {
  auto st = db.prepare(
      "SELECT packets, bytes, decode_errors, kernel_drops, interface_drops, queue_drops,"
      " flows_exported, flows_evicted FROM counters WHERE id = 1");
  if (!st) return std::unexpected(st.error());
  CaptureCounters c;
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return c;
  auto u = [&](int i) { return static_cast<std::uint64_t>(st->column_int(i)); };
  c.packets = u(0);
  c.bytes = u(1);
  c.decode_errors = u(2);
  c.kernel_drops = u(3);
  c.interface_drops = u(4);
  c.queue_drops = u(5);
  c.flows_exported = u(6);
  c.flows_evicted = u(7);
  return c;
}

Result<void> add_counters(sql::Statement& st, const CaptureCounters& c) {
  auto s = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  st.bind(1, s(c.packets))
      .bind(2, s(c.bytes))
      .bind(3, s(c.decode_errors))
      .bind(4, s(c.kernel_drops))
      .bind(5, s(c.interface_drops))
      .bind(6, s(c.queue_drops))
      .bind(7, s(c.flows_exported))
      .bind(8, s(c.flows_evicted));
  return st.run();
}

}  // namespace conntrail::storage
