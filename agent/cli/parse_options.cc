#include <cstdio>
#include <iostream>
#include <vector>

#include "agent/cli/command.h"

namespace conntrail::cli {

std::optional<int> parse_options(std::string_view command,
                                 const boost::program_options::options_description& desc,
                                 std::span<const std::string> args,
                                 boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  try {
    const std::vector<std::string> argv(args.begin(), args.end());
    po::store(po::command_line_parser(argv).options(desc).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 e.what());
    return 2;
  }
  return std::nullopt;
}

}  // namespace conntrail::cli
