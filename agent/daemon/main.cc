// conntrail-agent — the daemon. (Walking skeleton: grows with the foundation issue.)
#include <cstdio>
#include <cstring>

#include "agent/version.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("conntrail-agent %s\n", conntrail::version());
      return 0;
    }
  }
  std::fprintf(stderr, "conntrail-agent: usage: conntrail-agent --config FILE\n");
  return 2;
}
