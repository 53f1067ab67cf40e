// `conntrail status`, the real binary, against a data directory with no agent.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Run {
  int exit_code;
  std::string output;
};

Run run(const std::string& args) {
  const std::string cmd = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail status " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Run r{-1, {}};
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) r.output += buf.data();
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("status-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "agent.conf").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write_config(const std::string& extra = "") {
    std::ofstream(config_) << "[storage]\ndata_dir = " << (dir_ / "data").string()
                           << "\nretention_months = 6\n[api]\ntls_cert = a\ntls_key = b\n"
                              "client_ca = c\nofficers_file = d\n"
                           << extra;
  }
  std::filesystem::path dir_;
  std::string config_;
};

TEST_F(StatusCliTest, ReportsAnEmptyStoreAndNoAgent) {
  write_config();
  const auto r = run("--config " + config_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("agent        not running"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 flows"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("6 months; no data stored yet"), std::string::npos) << r.output;
}

TEST_F(StatusCliTest, NamesTheBadKeyOfABrokenConfig) {
  write_config("frobnicate = 1\n");
  const auto r = run("--config " + config_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("frobnicate"), std::string::npos) << r.output;
}

TEST_F(StatusCliTest, UsageErrorExitsTwo) { EXPECT_EQ(run("--no-such-option").exit_code, 2); }

}  // namespace
