#include "capture/source/pcap_handle.h"

#include <pcap.h>
#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace conntrail::capture {
namespace {

struct Trampoline {
  PacketCallback callback;
  void* context;
};

// libpcap's C callback: casts user data back and converts the header once.
void on_pcap_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  const auto* t = reinterpret_cast<const Trampoline*>(user);
  RawPacket p;
  // Handles are opened with PCAP_TSTAMP_PRECISION_NANO: tv_usec holds ns.
  p.ts = static_cast<TimestampNs>(h->ts.tv_sec) * kNsPerSecond + h->ts.tv_usec;
  p.captured_length = h->caplen;
  p.wire_length = h->len;
  p.data = bytes;
  t->callback(t->context, p);
}

Error pcap_error(ErrorCode code, const std::string& what, pcap_t* p) {
  return Error{code, what + ": " + (p != nullptr ? pcap_geterr(p) : "unknown error")};
}

}  // namespace

void PcapHandle::Closer::operator()(pcap* p) const noexcept { pcap_close(p); }

PcapHandle::~PcapHandle() = default;

Result<PcapHandle> PcapHandle::open_offline(const std::string& path,
                                            std::size_t read_buffer_bytes) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // libpcap reads a savefile with two freads per packet (header, data). With
  // stdio's default buffer (st_blksize, 4 KiB) that is a read(2) per 4 KiB:
  // ~190,000 system calls for a 790 MB file, half the CPU of a plain read
  // loop. So the file is opened here with a 256 KiB buffer of our own (glibc
  // ignores setvbuf's size unless it is given the buffer) and handed to
  // libpcap, which parses it as always and closes it in pcap_close().
  std::unique_ptr<char[]> buffer;
  pcap_t* p = nullptr;
  if (read_buffer_bytes == 0) {
    p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  } else if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    buffer = std::make_unique<char[]>(read_buffer_bytes);
    std::setvbuf(f, buffer.get(), _IOFBF, read_buffer_bytes);
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) std::fclose(f);  // on failure the FILE stays the caller's
  } else {
    std::snprintf(errbuf, sizeof errbuf, "%s", std::strerror(errno));
  }
  if (p == nullptr) {
    // libpcap does not promise errno on failure (a stale ENOENT survives a
    // format error), so whether the file exists is asked separately.
    std::error_code ec;
    const bool missing = !std::filesystem::exists(path, ec) && !ec;
    return fail(missing ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot read capture " + path + ": " + errbuf);
  }
  PcapHandle handle(p);
  handle.read_buffer_ = std::move(buffer);
  return handle;
}

Result<PcapHandle> PcapHandle::open_live(const LiveSettings& s) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw = pcap_create(s.interface.c_str(), errbuf);
  if (raw == nullptr) return fail(ErrorCode::kIo, "pcap_create " + s.interface + ": " + errbuf);
  PcapHandle h(raw);
  const std::string where = "interface " + s.interface;
  if (pcap_set_snaplen(raw, s.snaplen) != 0 || pcap_set_promisc(raw, s.promiscuous ? 1 : 0) != 0 ||
      pcap_set_timeout(raw, s.timeout_ms) != 0 || pcap_set_buffer_size(raw, s.buffer_bytes) != 0 ||
      pcap_set_tstamp_precision(raw, PCAP_TSTAMP_PRECISION_NANO) != 0) {
    return std::unexpected(pcap_error(ErrorCode::kIo, where + ": setting options", raw));
  }
  const int rc = pcap_activate(raw);
  if (rc < 0) {
    ErrorCode code = ErrorCode::kIo;
    if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) {
      code = ErrorCode::kPermission;
    } else if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
      code = ErrorCode::kNotFound;
    }
    return fail(code, where + ": cannot start capture: " + pcap_statustostr(rc) + " (" +
                          pcap_geterr(raw) + ")");
  }
  if (!s.bpf_filter.empty()) {
    bpf_program program{};
    if (pcap_compile(raw, &program, s.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return std::unexpected(pcap_error(ErrorCode::kInvalidArgument,
                                        where + ": bad filter '" + s.bpf_filter + "'", raw));
    }
    const int set = pcap_setfilter(raw, &program);
    pcap_freecode(&program);
    if (set != 0) return std::unexpected(pcap_error(ErrorCode::kIo, where + ": setfilter", raw));
  }
  return h;
}

Result<LinkType> PcapHandle::link_type() const {
  const int dlt = pcap_datalink(pcap_.get());
  switch (dlt) {
    case DLT_EN10MB:
      return LinkType::kEthernet;
    case DLT_LINUX_SLL:
      return LinkType::kLinuxSll;
    case DLT_LINUX_SLL2:
      return LinkType::kLinuxSll2;
    case DLT_RAW:
      return LinkType::kRawIp;
    case DLT_IPV4:
      return LinkType::kIpv4;
    case DLT_IPV6:
      return LinkType::kIpv6;
    default:
      break;
  }
  const char* name = pcap_datalink_val_to_name(dlt);
  return fail(ErrorCode::kUnsupported,
              "unsupported link type " + std::to_string(dlt) + " (" +
                  (name != nullptr ? name : "unknown") +
                  "); conntrail reads Ethernet, Linux cooked v1/v2 and raw IP");
}

Result<int> PcapHandle::dispatch(int max_packets, PacketCallback callback, void* context) {
  Trampoline t{callback, context};
  const int n =
      pcap_dispatch(pcap_.get(), max_packets, on_pcap_packet, reinterpret_cast<u_char*>(&t));
  if (n == PCAP_ERROR)
    return std::unexpected(pcap_error(ErrorCode::kIo, "reading packets", pcap_.get()));
  if (n == PCAP_ERROR_BREAK) return 0;
  return n;
}

Result<void> PcapHandle::set_nonblocking() {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (pcap_setnonblock(pcap_.get(), 1, errbuf) != 0) {
    return fail(ErrorCode::kIo, std::string("pcap_setnonblock: ") + errbuf);
  }
  return {};
}

Result<bool> PcapHandle::wait_readable(int timeout_ms) const {
  const int fd = pcap_get_selectable_fd(pcap_.get());
  if (fd < 0) return fail(ErrorCode::kUnsupported, "capture handle has no selectable descriptor");
  pollfd p{fd, POLLIN, 0};
  const int rc = poll(&p, 1, timeout_ms);
  if (rc < 0) {
    if (errno == EINTR) return false;
    return fail(ErrorCode::kIo, std::string("poll: ") + std::strerror(errno));
  }
  if (rc > 0 && (p.revents & (POLLERR | POLLNVAL)) != 0) {
    return fail(ErrorCode::kIo, "capture descriptor failed (interface down?)");
  }
  return rc > 0;
}

void PcapHandle::break_loop() noexcept { pcap_breakloop(pcap_.get()); }

Result<KernelStats> PcapHandle::stats() const {
  pcap_stat s{};
  if (pcap_stats(pcap_.get(), &s) != 0) {
    return std::unexpected(pcap_error(ErrorCode::kIo, "pcap_stats", pcap_.get()));
  }
  return KernelStats{s.ps_recv, s.ps_drop, s.ps_ifdrop};
}

void BpfProgram::Freer::operator()(bpf_program* p) const noexcept {
  pcap_freecode(p);
  delete p;
}

BpfProgram::~BpfProgram() = default;

Result<BpfProgram> BpfProgram::compile(LinkType link, int snaplen, const std::string& filter) {
  int dlt = DLT_EN10MB;
  switch (link) {
    case LinkType::kEthernet: dlt = DLT_EN10MB; break;
    case LinkType::kLinuxSll: dlt = DLT_LINUX_SLL; break;
    case LinkType::kLinuxSll2: dlt = DLT_LINUX_SLL2; break;
    case LinkType::kRawIp: dlt = DLT_RAW; break;
    case LinkType::kIpv4: dlt = DLT_IPV4; break;
    case LinkType::kIpv6: dlt = DLT_IPV6; break;
  }
  pcap_t* raw = pcap_open_dead(dlt, snaplen);
  if (raw == nullptr) return fail(ErrorCode::kUnsupported, "pcap_open_dead failed");
  const std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(raw, &pcap_close);
  auto program = std::make_unique<bpf_program>();
  if (pcap_compile(raw, program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return std::unexpected(
        pcap_error(ErrorCode::kInvalidArgument, "filter '" + filter + "' does not compile", raw));
  }
  return BpfProgram(program.release());
}

bool BpfProgram::matches(std::span<const std::uint8_t> frame) const {
  pcap_pkthdr header{};
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = header.caplen;
  return pcap_offline_filter(program_.get(), &header, frame.data()) != 0;
}

std::size_t BpfProgram::instructions() const noexcept { return program_->bf_len; }

}  // namespace conntrail::capture
