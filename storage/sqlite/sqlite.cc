// storage/sqlite/sqlite.cc — the only includer of <sqlite3.h>; see sqlite.h.
#include "storage/sqlite/sqlite.h"

#include <sqlite3.h>

#include <atomic>
#include <optional>

namespace conntrail::storage::sql {
namespace {

std::atomic<int> g_fault{-1};  // -1: disarmed; else an ErrorCode value

std::optional<ErrorCode> armed_fault() noexcept {
  const int f = g_fault.load(std::memory_order_relaxed);
  if (f < 0) return std::nullopt;
  return static_cast<ErrorCode>(f);
}

ErrorCode map_code(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return ErrorCode::kNoSpace;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return ErrorCode::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorrupt;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return ErrorCode::kPermission;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return ErrorCode::kInvalidArgument;
    case SQLITE_TOOBIG:
      return ErrorCode::kLimit;
    default:
      return ErrorCode::kInternal;
  }
}

std::unexpected<Error> sqlite_fail(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // ENOSPC sometimes surfaces as SQLITE_IOERR_WRITE; the errno tells them apart.
  ErrorCode code = map_code(rc);
  if (db != nullptr && code == ErrorCode::kIo && sqlite3_system_errno(db) == 28 /* ENOSPC */) {
    code = ErrorCode::kNoSpace;
  }
  return fail(code, std::move(msg));
}

std::string fmt_percent(char c) {
  static const char* kHex = "0123456789ABCDEF";
  const auto u = static_cast<unsigned char>(c);
  return std::string{'%', kHex[u >> 4], kHex[u & 15]};
}

std::unexpected<Error> injected(ErrorCode code, std::string_view what) {
  return fail(code, std::string(what) + ": injected fault");
}

}  // namespace

void Db::Close::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
void Statement::Finalize::operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }

Db::~Db() = default;
Statement::~Statement() = default;

namespace {
// SQLite counts every allocation under one process-wide mutex unless told
// not to (SQLITE_CONFIG_MEMSTATUS). Query reader threads each open their own
// connections, and that mutex was their main cost: a 30-day query over 720
// shards spent over a third of its time in futex waits on it (perf). We
// never read sqlite3_memory_used(), so the count is off. Must run before
// SQLite initializes; if something initialized it first, the call fails
// harmlessly and the counting stays on.
void configure_sqlite_once() noexcept {
  static const bool configured = [] {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  }();
  (void)configured;
}
}  // namespace

Result<Db> Db::open(const std::filesystem::path& path, OpenMode mode) {
  configure_sqlite_once();
  int flags = SQLITE_OPEN_NOMUTEX;  // one connection per thread, never shared
  std::string name = path.string();
  switch (mode) {
    case OpenMode::kImmutable: {
      // URI form "file:...?immutable=1": SQLite skips locks and change checks.
      std::string uri = "file:";
      for (char c : name) {
        if (c == '?' || c == '#' || c == '%') {
          uri += fmt_percent(c);
        } else {
          uri += c;
        }
      }
      name = uri + "?immutable=1";
      flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
      break;
    }
    case OpenMode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case OpenMode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case OpenMode::kCreate:
      if (auto f = armed_fault()) return injected(*f, "open " + path.string());
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands out a handle even on failure; own it first.
  std::unique_ptr<sqlite3, Close> owned(raw);
  if (rc != SQLITE_OK) return sqlite_fail(raw, rc, "open " + path.string());
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return Db(std::move(owned), path);
}

Result<void> Db::exec(std::string_view sql) {
  const bool is_rollback = sql.starts_with("ROLLBACK");
  if (auto f = armed_fault(); f && !is_rollback) return injected(*f, std::string(sql));
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return sqlite_fail(db_.get(), rc, text);
  return {};
}

Result<Statement> Db::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, Statement::Finalize> owned(raw);
  if (rc != SQLITE_OK) return sqlite_fail(db_.get(), rc, "prepare " + std::string(sql));
  if (raw == nullptr) return fail(ErrorCode::kInternal, "prepare: empty statement");
  return Statement(std::move(owned), db_.get());
}

Result<std::int64_t> Db::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no row: " + std::string(sql));
  return st->column_int(0);
}

Result<std::string> Db::query_text(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no row: " + std::string(sql));
  return std::string(st->column_text(0));
}

std::int64_t Db::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_.get()); }

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> blob) {
  // A zero-length blob must still be a blob, not NULL: pass a valid pointer.
  static const std::uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  const int rc = sqlite3_bind_blob64(stmt_.get(), index, data, blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_.get(), index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_ != 0) {
    const int rc = bind_error_;
    bind_error_ = 0;
    return sqlite_fail(db_, rc, "bind");
  }
  if (auto f = armed_fault(); f && sqlite3_stmt_readonly(stmt_.get()) == 0) {
    return injected(*f, sqlite3_sql(stmt_.get()));
  }
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_fail(db_, rc, sqlite3_sql(stmt_.get()));
}

Result<void> Statement::run() {
  auto r = step();
  reset();
  if (!r) return std::unexpected(r.error());
  return {};
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = 0;
}

bool Statement::is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int column) const noexcept {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string_view Statement::column_text(int column) const noexcept {
  const auto* p = sqlite3_column_text(stmt_.get(), column);
  const int n = sqlite3_column_bytes(stmt_.get(), column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::span<const std::uint8_t> Statement::column_blob(int column) const noexcept {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), column));
  const int n = sqlite3_column_bytes(stmt_.get(), column);
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(n)};
}

Result<Transaction> Transaction::begin(Db& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Result<void> Transaction::commit() {
  if (db_ == nullptr) return fail(ErrorCode::kInternal, "commit of a finished transaction");
  auto r = db_->exec("COMMIT");
  if (!r) return r;  // the destructor rolls back
  db_ = nullptr;
  return {};
}

void inject_write_fault(ErrorCode code) noexcept {
  g_fault.store(static_cast<int>(code), std::memory_order_relaxed);
}
void clear_write_fault() noexcept { g_fault.store(-1, std::memory_order_relaxed); }

const char* library_version() noexcept { return sqlite3_libversion(); }

}  // namespace conntrail::storage::sql
