// storage/sqlite/sqlite.h — the one C++ face of SQLite in conntrail.
//
// Job: own every sqlite3* and sqlite3_stmt* (one RAII owner each), turn SQLite
// result codes into Result<> with an ErrorCode that callers can act on
// (kNoSpace for SQLITE_FULL, kIo for SQLITE_IOERR_*, kCorrupt, kPermission),
// and give tests a fault-injection point so disk-full and I/O errors can be
// produced on demand. sqlite.cc is the only file in the tree that includes
// <sqlite3.h>.
//
// Invariants:
//  - A Statement never outlives its Db (callers keep the Db alive; the store
//    owns both in one object, Statements declared after the Db).
//  - A Transaction that is destroyed without commit() rolls back.
//  - Nothing here builds SQL from data: values go through bind().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace conntrail::storage::sql {

enum class OpenMode {
  kReadOnly,   // never creates, never writes (queries of open shards)
  kImmutable,  // read-only file that nothing changes any more (sealed shards): no locking
  kReadWrite,  // existing file only
  kCreate,     // read-write, created when missing
};

class Statement;

class Db {
 public:
  // Opens (or creates) the database at `path`. The returned Db has a busy
  // timeout so that readers and the writer of a WAL file do not fail on
  // momentary locks.
  static Result<Db> open(const std::filesystem::path& path, OpenMode mode);

  Db(Db&&) noexcept = default;
  Db& operator=(Db&&) noexcept = default;
  ~Db();

  // Runs one or more statements with no parameters (schema, PRAGMAs).
  Result<void> exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // A single-value PRAGMA or query result as integer / text.
  Result<std::int64_t> query_int(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  std::int64_t last_insert_rowid() const noexcept;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept;
  };
  Db(std::unique_ptr<sqlite3, Close> db, std::filesystem::path path) noexcept
      : db_(std::move(db)), path_(std::move(path)) {}
  friend class Statement;

  std::unique_ptr<sqlite3, Close> db_;
  std::filesystem::path path_;
};

class Statement {
 public:
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Blob and text are copied
  // (SQLITE_TRANSIENT) unless noted, so callers may reuse their buffers.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::span<const std::uint8_t> blob);
  Statement& bind_null(int index);

  // Result: true when a row is available, false when done.
  Result<bool> step();
  // Runs to completion, expecting no rows (INSERT/UPDATE/DELETE).
  Result<void> run();
  // Resets for re-use and clears bindings.
  void reset() noexcept;

  bool is_null(int column) const noexcept;
  std::int64_t column_int(int column) const noexcept;
  std::string_view column_text(int column) const noexcept;
  // Valid until the next step()/reset().
  std::span<const std::uint8_t> column_blob(int column) const noexcept;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  Statement(std::unique_ptr<sqlite3_stmt, Finalize> stmt, sqlite3* db) noexcept
      : stmt_(std::move(stmt)), db_(db) {}
  friend class Db;

  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  sqlite3* db_ = nullptr;
  int bind_error_ = 0;  // first bind failure, reported by the next step()
};

// BEGIN IMMEDIATE ... COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Db& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Result<void> commit();

 private:
  explicit Transaction(Db* db) noexcept : db_(db) {}
  Db* db_;
};

// Fault injection for tests (SQLite's own test harness does the same through
// its VFS). While armed, every write (exec, or step of a statement that is not
// read-only) and every open with kCreate fails with `code` before touching
// the database, exactly as SQLITE_FULL / SQLITE_IOERR would. Process-wide.
void inject_write_fault(ErrorCode code) noexcept;
void clear_write_fault() noexcept;

// The SQLite library version, for docs and status.
const char* library_version() noexcept;

}  // namespace conntrail::storage::sql
