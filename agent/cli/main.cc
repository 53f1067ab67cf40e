// conntrail — the operator's offline tool: `conntrail <command> [options]`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "agent/version.h"

namespace conntrail::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace

const std::vector<Command>& all_commands() { return registry(); }

RegisterCommand::RegisterCommand(Command command) {
  auto& r = registry();
  r.push_back(command);
  std::sort(r.begin(), r.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
}

namespace {
void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: conntrail <command> [options]\n\ncommands:\n");
  for (const auto& c : all_commands()) {
    std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fprintf(out, "\n`conntrail <command> --help` describes a command's options.\n");
}
}  // namespace

}  // namespace conntrail::cli

int main(int argc, char** argv) {
  using namespace conntrail::cli;
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("conntrail %s\n", conntrail::version());
    return 0;
  }
  for (const auto& c : all_commands()) {
    if (c.name == name) {
      const std::vector<std::string> args(argv + 2, argv + argc);
      return c.run(args);
    }
  }
  std::fprintf(stderr, "conntrail: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return 2;
}
