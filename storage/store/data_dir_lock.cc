#include "storage/store/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace conntrail::storage {

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + data_dir.string() + ": " + ec.message());
  const auto path = data_dir / ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return fail(ErrorCode::kIo, "open " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return fail(ErrorCode::kLimit, "data directory " + data_dir.string() +
                                         " is in use by another conntrail process");
    }
    return fail(ErrorCode::kIo, "lock " + path.string() + ": " + std::strerror(errno));
  }
  return DataDirLock(std::move(fd));
}

}  // namespace conntrail::storage
