// Tests of agent/notify against a NOTIFY_SOCKET this test owns.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "agent/notify/notifier.h"
#include "core/handle.h"

namespace conntrail::agent {
namespace {

class NotifySocket {
 public:
  NotifySocket() {
    path_ = testing::TempDir() + "notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unlink(path_.c_str());
  }
  // The next datagram, or "" after 5 s.
  std::string receive() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return {};
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

TEST(NotifierTest, SendsEveryStateInOrder) {
  NotifySocket sock;
  Notifier n;
  EXPECT_TRUE(n.ready());
  EXPECT_TRUE(n.status("serving 2 listeners\nsecond line"));
  EXPECT_TRUE(n.watchdog());
  EXPECT_TRUE(n.reloading());
  EXPECT_TRUE(n.stopping());
  EXPECT_EQ(sock.receive(), "READY=1");
  EXPECT_EQ(sock.receive(), "STATUS=serving 2 listeners second line");
  EXPECT_EQ(sock.receive(), "WATCHDOG=1");
  const std::string reload = sock.receive();
  EXPECT_TRUE(reload.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << reload;
  EXPECT_GT(std::stoull(reload.substr(reload.find('=', 12) + 1)), 0u);
  EXPECT_EQ(sock.receive(), "STOPPING=1");
}

TEST(NotifierTest, IsANoOpOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  Notifier n;
  EXPECT_FALSE(n.ready());
  EXPECT_FALSE(n.stopping());
}

TEST(NotifierTest, WatchdogIntervalComesFromTheEnvironment) {
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(Notifier::watchdog_interval().has_value());
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto interval = Notifier::watchdog_interval();
  ASSERT_TRUE(interval.has_value());
  EXPECT_EQ(interval->count(), 3'000'000);
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_FALSE(Notifier::watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace conntrail::agent
