// storage/journal/line_reader.h — bounded line reader over a file descriptor.
//
// Reads '\n'-terminated lines with pread() from a start offset, never holding
// more than max_line bytes of one line: a longer line is reported as kTooLong
// and skipped to its newline. Bytes after the last newline are reported once
// as kTail (a torn append). The reader does not own the descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace conntrail::storage {

class LineReader {
 public:
  enum class Kind { kLine, kTooLong, kTail, kEof };
  struct Item {
    Kind kind = Kind::kEof;
    std::string_view text;     // kLine: the line without '\n'; valid until next()
    std::uint64_t offset = 0;  // file offset of the line's first byte
    std::uint64_t length = 0;  // bytes including the '\n' (kTail: bytes to EOF)
  };

  // Reads [start_offset, end_offset): a file still being appended to is read
  // only up to the size it had, so a concurrent append cannot look torn.
  LineReader(int fd, std::uint64_t start_offset, std::size_t max_line,
             std::uint64_t end_offset = UINT64_MAX) noexcept
      : fd_(fd),
        file_pos_(start_offset),
        end_(end_offset),
        line_start_(start_offset),
        max_line_(max_line) {}

  Result<Item> next();

 private:
  Result<std::size_t> fill();  // appends up to one chunk to buf_; 0 at EOF

  int fd_;
  std::uint64_t file_pos_;    // next byte to read from the file
  std::uint64_t end_;         // read no byte at or after this offset
  std::uint64_t line_start_;  // file offset of buf_[pos_]
  std::size_t max_line_;
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace conntrail::storage
