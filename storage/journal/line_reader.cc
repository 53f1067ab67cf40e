#include "storage/journal/line_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace conntrail::storage {
namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

Result<std::size_t> LineReader::fill() {
  if (pos_ > 0) {  // compact: drop consumed bytes so the buffer stays ~one line
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const std::size_t old = buf_.size();
  if (file_pos_ >= end_) return std::size_t{0};
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end_ - file_pos_));
  buf_.resize(old + want);
  for (;;) {
    const ssize_t n = ::pread(fd_, buf_.data() + old, want, static_cast<off_t>(file_pos_));
    if (n < 0) {
      if (errno == EINTR) continue;
      buf_.resize(old);
      return fail(ErrorCode::kIo, std::string("read journal: ") + std::strerror(errno));
    }
    buf_.resize(old + static_cast<std::size_t>(n));
    file_pos_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
}

Result<LineReader::Item> LineReader::next() {
  bool skipping = false;  // inside a too-long line, looking for its end
  std::uint64_t skipped_start = line_start_;
  for (;;) {
    const std::size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      const std::size_t len = nl - pos_;
      Item item;
      item.offset = skipping ? skipped_start : line_start_;
      const std::uint64_t end = line_start_ + len + 1;
      item.length = end - item.offset;
      if (skipping || len > max_line_) {
        item.kind = Kind::kTooLong;
      } else {
        item.kind = Kind::kLine;
        item.text = std::string_view(buf_).substr(pos_, len);
      }
      pos_ = nl + 1;
      line_start_ = end;
      return item;
    }
    if (buf_.size() - pos_ > max_line_) {  // no newline within bound: drop what we have
      if (!skipping) skipped_start = line_start_;
      skipping = true;
      line_start_ += buf_.size() - pos_;
      buf_.clear();
      pos_ = 0;
    }
    auto got = fill();
    if (!got) return std::unexpected(got.error());
    if (*got == 0) {
      Item item;
      if (skipping || pos_ < buf_.size()) {
        item.kind = Kind::kTail;
        item.offset = skipping ? skipped_start : line_start_;
        item.length = line_start_ + (buf_.size() - pos_) - item.offset;
        line_start_ += buf_.size() - pos_;
        buf_.clear();
        pos_ = 0;
      }
      return item;
    }
  }
}

}  // namespace conntrail::storage
