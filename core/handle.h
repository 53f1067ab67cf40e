// core/handle.h — RAII ownership for C library handles.
//
// Every C handle (pcap_t*, sqlite3*, SSL*, nghttp2_session*) has exactly one
// owner, a Handle<T, Free>, and is released in exactly one place: its deleter.
// Deleters accept null so that half-built objects destruct cleanly.
#pragma once

#include <memory>

namespace conntrail {

template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};

template <class T, auto Free>
using Handle = std::unique_ptr<T, FreeWith<Free>>;

// A file descriptor owned the same way: closed once, on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace conntrail
