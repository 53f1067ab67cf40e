// bench/storage/bench_support.h — what every storage benchmark program measures with.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace conntrail::bench {

// CPU seconds of the whole process (all threads), user + system.
inline double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Empties the page cache (and dentries, inodes) before a cold measurement.
// False when not allowed (not root): the caller skips its cold rows.
inline bool drop_caches() {
  ::sync();
  const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "3\n", 2) == 2;
  ::close(fd);
  return ok;
}

}  // namespace conntrail::bench
