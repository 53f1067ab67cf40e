// `conntrail audit verify` run as a real binary on a journal written by the
// journal library: exit 0 when intact, 1 with the changed entry named after
// tampering, 2 on bad usage.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/journal/journal.h"

namespace {

namespace fs = std::filesystem;
using conntrail::storage::Journal;
using conntrail::storage::JournalOptions;

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail " + args + " 2>&1";
  CliRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("audit_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = conntrail::storage::journal_path_for_data_dir(dir_.string());
    JournalOptions o;
    o.sync = false;
    auto j = Journal::open(path_, o);
    ASSERT_TRUE(j);
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE((*j)->append(1'795'000'000'000'000'000 + i, "request_created", {{"n", i}}));
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(AuditCliTest, IntactJournalExitsZero) {
  CliRun r = run("audit verify --data-dir " + dir_.string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("journal OK: 5 entries"), std::string::npos) << r.out;
}

TEST_F(AuditCliTest, TamperedJournalExitsOneNamingTheEntry) {
  std::vector<std::string> lines;
  {
    std::ifstream in(path_);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  lines[3].replace(lines[3].find("\"n\":4"), 5, "\"n\":7");
  {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
  }
  CliRun r = run("audit verify --journal " + path_);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("entry seq 4 (line 4) was changed"), std::string::npos) << r.out;
  CliRun j = run("audit verify --json --journal " + path_);
  EXPECT_EQ(j.status, 1);
  EXPECT_NE(j.out.find("\"kind\": \"changed\""), std::string::npos) << j.out;
}

TEST_F(AuditCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run("audit verify").status, 2);
  EXPECT_EQ(run("audit verify --journal a --data-dir b").status, 2);
  EXPECT_EQ(run("audit frobnicate").status, 2);
  EXPECT_EQ(run("audit verify --journal /nonexistent/journal").status, 1);
}

}  // namespace
