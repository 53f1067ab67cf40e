#include "agent/api/deferred_body.h"

#include <algorithm>
#include <cstring>

namespace conntrail::agent {

DeferredBody::~DeferredBody() {
  cancelled_ = true;
  if (worker_.joinable()) worker_.join();
}

void DeferredBody::set_resume(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  resume_ = std::move(resume);
  start_locked();
}

void DeferredBody::start_locked() {
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] {
    std::string text;
    try {
      text = produce_(cancelled_);
    } catch (...) {  // foreign code: contain it; an empty body ends the response
      text.clear();
    }
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      text_ = std::move(text);
      done_ = true;
      if (want_resume_) {
        want_resume_ = false;
        wake = resume_;
      }
    }
    if (wake) wake();
  });
}

http2::BodySource::Chunk DeferredBody::read(std::span<char> buffer) {
  std::lock_guard lock(mu_);
  start_locked();
  if (!done_) {
    want_resume_ = true;
    return {Status::kWouldBlock, 0};
  }
  const std::size_t n = std::min(buffer.size(), text_.size() - offset_);
  std::memcpy(buffer.data(), text_.data() + offset_, n);
  offset_ += n;
  return {offset_ == text_.size() ? Status::kEnd : Status::kData, n};
}

}  // namespace conntrail::agent
