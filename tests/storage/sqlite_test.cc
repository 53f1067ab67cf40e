#include "storage/sqlite/sqlite.h"

#include <gtest/gtest.h>

#include "tests/storage/test_dir.h"

namespace conntrail::storage::sql {
namespace {

TEST(SqliteTest, BindStepAndRollbackOnDestruction) {
  testing::TestDir dir;
  auto db = Db::open(dir.path() / "t.sqlite", OpenMode::kCreate);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("CREATE TABLE t(a INTEGER, b TEXT, c BLOB)"));
  auto ins = db->prepare("INSERT INTO t VALUES(?,?,?)");
  ASSERT_TRUE(ins);
  {
    auto txn = Transaction::begin(*db);
    ASSERT_TRUE(txn);
    const std::uint8_t blob[] = {1, 2, 3};
    ins->bind(1, std::int64_t{42}).bind(2, std::string_view("x")).bind_blob(3, blob);
    ASSERT_TRUE(ins->run());
    // destroyed without commit
  }
  EXPECT_EQ(db->query_int("SELECT count(*) FROM t").value(), 0);
  {
    auto txn = Transaction::begin(*db);
    ins->bind(1, std::int64_t{7}).bind(2, std::string_view("y")).bind_blob(3, {});
    ASSERT_TRUE(ins->run());
    ASSERT_TRUE(txn->commit());
  }
  auto sel = db->prepare("SELECT a, b, c FROM t");
  ASSERT_TRUE(sel);
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_int(0), 7);
  EXPECT_EQ(sel->column_text(1), "y");
  EXPECT_FALSE(sel->is_null(2));
  EXPECT_TRUE(sel->column_blob(2).empty());
}

TEST(SqliteTest, ErrorsAreMappedNotThrown) {
  testing::TestDir dir;
  auto missing = Db::open(dir.path() / "nope" / "x.sqlite", OpenMode::kReadOnly);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  auto db = Db::open(dir.path() / "t.sqlite", OpenMode::kCreate);
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->prepare("SELEKT 1"));
  ASSERT_TRUE(db->exec("CREATE TABLE t(a INTEGER PRIMARY KEY)"));
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES(1)"));
  auto dup = db->exec("INSERT INTO t VALUES(1)");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
}

TEST(SqliteTest, NotADatabaseIsCorrupt) {
  testing::TestDir dir;
  const auto p = dir.path() / "junk.sqlite";
  {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto db = Db::open(p, OpenMode::kReadOnly);
  ASSERT_TRUE(db);
  auto r = db->query_int("SELECT count(*) FROM sqlite_schema");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
}

TEST(SqliteTest, InjectedWriteFaultFailsWritesButNotReads) {
  testing::TestDir dir;
  auto db = Db::open(dir.path() / "t.sqlite", OpenMode::kCreate);
  ASSERT_TRUE(db->exec("CREATE TABLE t(a)"));
  inject_write_fault(ErrorCode::kNoSpace);
  auto w = db->exec("INSERT INTO t VALUES(1)");
  auto ins = db->prepare("INSERT INTO t VALUES(2)");
  ASSERT_TRUE(ins);
  auto w2 = ins->run();
  auto r = db->query_int("SELECT count(*) FROM t");
  clear_write_fault();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kNoSpace);
  ASSERT_FALSE(w2);
  EXPECT_EQ(w2.error().code, ErrorCode::kNoSpace);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0);
  EXPECT_TRUE(db->exec("INSERT INTO t VALUES(1)"));
}

}  // namespace
}  // namespace conntrail::storage::sql
