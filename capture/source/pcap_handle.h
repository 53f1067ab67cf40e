// capture/source/pcap_handle.h — the one owner of a libpcap pcap_t.
//
// This pair is the only code that includes <pcap.h> (house rule): everything
// else sees RawPacket and LinkType. A PcapHandle is built by open_offline() or
// open_live(), which report every libpcap failure as a Result, and closes the
// pcap_t exactly once in its destructor. Timestamps are always requested in
// nanoseconds, so one int64 time type serves µs and ns captures alike.
// Thread use: one thread reads; break_loop() may be called from another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "capture/decode/link.h"
#include "core/result.h"
#include "core/timestamp.h"

struct pcap;         // libpcap's pcap_t, kept opaque here
struct bpf_program;  // libpcap's compiled filter

namespace conntrail::capture {

struct RawPacket {
  TimestampNs ts = 0;
  std::uint32_t captured_length = 0;
  std::uint32_t wire_length = 0;
  const std::uint8_t* data = nullptr;  // valid only during the callback
};

// Called for each packet of a batch; `context` is the caller's object.
using PacketCallback = void (*)(void* context, const RawPacket& packet);

struct LiveSettings {
  std::string interface;
  int snaplen = 256;
  bool promiscuous = true;
  int buffer_bytes = 32 << 20;  // kernel ring buffer
  int timeout_ms = 100;         // batch wake-up: flows expire even without traffic
  std::string bpf_filter;       // empty: everything
};

struct KernelStats {
  std::uint64_t received = 0;
  std::uint64_t dropped = 0;            // ps_drop: no room in the buffer
  std::uint64_t interface_dropped = 0;  // ps_ifdrop: dropped by the interface or driver
};

class PcapHandle {
 public:
  // Opens a pcap or pcapng file (either byte order, µs or ns) with
  // nanosecond timestamps. Errors: kNotFound / kIo / kUnsupported (format).
  // The file is read through a stdio buffer of `read_buffer_bytes` (see
  // open_offline in the .cc for why); 0 lets libpcap open it with stdio's
  // default buffer, as a plain pcap_open_offline() program does (the bench's
  // libpcap floor).
  static constexpr std::size_t kOfflineReadBuffer = 256 << 10;
  static Result<PcapHandle> open_offline(const std::string& path,
                                         std::size_t read_buffer_bytes = kOfflineReadBuffer);
  // Creates, configures and activates a live capture, then applies the BPF
  // filter. Errors: kPermission (not root/CAP_NET_RAW), kNotFound (no such
  // interface), kInvalidArgument (filter does not compile), kIo (others).
  static Result<PcapHandle> open_live(const LiveSettings& settings);

  PcapHandle(PcapHandle&&) noexcept = default;
  // Closes our pcap_t (and its FILE) before freeing the FILE's buffer.
  PcapHandle& operator=(PcapHandle&& other) noexcept {
    pcap_ = std::move(other.pcap_);
    read_buffer_ = std::move(other.read_buffer_);
    return *this;
  }
  ~PcapHandle();

  // The link type as conntrail knows it, or kUnsupported naming the DLT.
  Result<LinkType> link_type() const;

  // Reads up to max_packets (or one buffer, live) and calls `callback` for
  // each. Returns the count (0: end of file, or live timeout with no packet),
  // or kIo with libpcap's message. A break_loop() makes it return early.
  Result<int> dispatch(int max_packets, PacketCallback callback, void* context);

  // Live handles: dispatch() then returns at once when no packet is ready,
  // and the caller waits on wait_readable() with its own timeout.
  Result<void> set_nonblocking();
  // Waits until packets can be read or `timeout_ms` passes; true if readable.
  // TPACKET_V3 hands over a ring block when it is full or its timer (the pcap
  // timeout) retires it, so this is what makes batched reads.
  Result<bool> wait_readable(int timeout_ms) const;

  // Makes a running dispatch() return; safe from another thread.
  void break_loop() noexcept;

  Result<KernelStats> stats() const;

 private:
  struct Closer {
    void operator()(pcap* p) const noexcept;
  };
  explicit PcapHandle(pcap* p) noexcept : pcap_(p) {}
  // stdio buffer of an offline handle's FILE (see open_offline); declared
  // before pcap_ so it is freed after pcap_close() has closed the FILE.
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<pcap, Closer> pcap_;
};

// A BPF filter compiled for a link type without any capture (pcap_open_dead):
// checks a filter text, and runs it over a frame exactly as a handle of that
// link type would (pcap_offline_filter), so filters are tested on frames they
// must and must not match. Owns the program; frees it once.
class BpfProgram {
 public:
  // Errors: kInvalidArgument (libpcap's message: the text does not compile for
  // this link type), kUnsupported (a link type libpcap cannot compile for).
  static Result<BpfProgram> compile(LinkType link, int snaplen, const std::string& filter);

  BpfProgram(BpfProgram&&) noexcept = default;
  BpfProgram& operator=(BpfProgram&&) noexcept = default;
  ~BpfProgram();

  // True when the filter accepts the frame (captured whole: wire length = size).
  bool matches(std::span<const std::uint8_t> frame) const;
  // Number of BPF instructions: what each handle's filter costs per packet.
  std::size_t instructions() const noexcept;

 private:
  struct Freer {
    void operator()(bpf_program* p) const noexcept;
  };
  explicit BpfProgram(bpf_program* p) noexcept : program_(p) {}
  std::unique_ptr<bpf_program, Freer> program_;
};

}  // namespace conntrail::capture
