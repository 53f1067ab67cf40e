// agent/api/deferred_body.h — a response body computed off the event loop.
//
// Some answers take long to compute but are small (verifying a journal of
// millions of entries). The handler must return at once, so it returns a
// DeferredBody: a worker thread runs `produce` once, read() answers
// kWouldBlock until the text is ready and the worker calls resume. Dropping
// the body sets the cancel flag `produce` receives and joins the worker, so
// `produce` should poll the flag to stop early.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "agent/http2/http_types.h"

namespace conntrail::agent {

class DeferredBody final : public http2::BodySource {
 public:
  using Produce = std::function<std::string(const std::atomic<bool>& cancelled)>;

  explicit DeferredBody(Produce produce) : produce_(std::move(produce)) {}
  ~DeferredBody() override;
  DeferredBody(const DeferredBody&) = delete;
  DeferredBody& operator=(const DeferredBody&) = delete;

  void set_resume(std::function<void()> resume) override;
  Chunk read(std::span<char> buffer) override;

 private:
  void start_locked();

  Produce produce_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::function<void()> resume_;
  bool started_ = false;
  bool done_ = false;
  bool want_resume_ = false;
  std::string text_;
  std::size_t offset_ = 0;
  std::thread worker_;
};

}  // namespace conntrail::agent
