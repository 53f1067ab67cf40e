// make_seeds OUT_DIR PCAP... — writes one fuzzer input per capture file, in the
// format of fuzz_input.h, so the fuzzer starts from real encapsulations.
#include <cstdio>
#include <string>
#include <vector>

#include "capture/source/pcap_handle.h"
#include "fuzz/capture/fuzz_input.h"

using namespace conntrail::capture;

namespace {
struct State {
  std::vector<std::uint8_t> out;
  conntrail::TimestampNs last = 0;
};

void on_packet(void* context, const RawPacket& p) {
  auto* s = static_cast<State*>(context);
  const conntrail::TimestampNs gap = s->last == 0 ? 0 : p.ts - s->last;
  s->last = p.ts;
  std::uint8_t step = 0;
  if (gap < 0) {
    step = 255;
  } else if (gap < 200'000'000) {
    step = static_cast<std::uint8_t>(gap / 1'000'000);
  } else {
    const auto tens = gap / 10'000'000'000LL;
    step = static_cast<std::uint8_t>(tens > 55 ? 254 : 199 + (tens < 1 ? 1 : tens));
  }
  const std::uint32_t len = p.captured_length > 0xffff ? 0xffff : p.captured_length;
  s->out.push_back(step);
  s->out.push_back(static_cast<std::uint8_t>(len));
  s->out.push_back(static_cast<std::uint8_t>(len >> 8));
  s->out.insert(s->out.end(), p.data, p.data + len);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR PCAP...\n");
    return 2;
  }
  int written = 0;
  for (int i = 2; i < argc; ++i) {
    auto h = PcapHandle::open_offline(argv[i]);
    if (!h) continue;
    auto link = h->link_type();
    if (!link) continue;
    State s;
    s.out.push_back(static_cast<std::uint8_t>(*link));
    while (true) {
      auto n = h->dispatch(4096, &on_packet, &s);
      if (!n || *n == 0) break;
    }
    const std::string path = std::string(argv[1]) + "/seed-" + std::to_string(i - 1);
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(s.out.data(), 1, s.out.size(), f);
      std::fclose(f);
      ++written;
    }
  }
  std::printf("%d seeds\n", written);
  return written > 0 ? 0 : 1;
}
