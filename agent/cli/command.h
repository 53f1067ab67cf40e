// agent/cli/command.h — subcommands of the operator's `conntrail` tool.
//
// Each subcommand lives in its own <name>_command.cc and registers itself with
// a file-scope RegisterCommand, so adding a subcommand touches no other file.
// run() gets the arguments after the subcommand name and returns the exit code
// (0 ok, 1 runtime failure, 2 usage error). It prints errors to stderr itself.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conntrail::cli {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string> args);
};

const std::vector<Command>& all_commands();

// Parses a subcommand's arguments into `vm`. Returns an exit code when the
// command is done already — 0 after printing --help, 2 after printing a usage
// error as "conntrail COMMAND: ..." — and std::nullopt when it should run.
std::optional<int> parse_options(std::string_view command,
                                 const boost::program_options::options_description& desc,
                                 std::span<const std::string> args,
                                 boost::program_options::variables_map& vm);

struct RegisterCommand {
  explicit RegisterCommand(Command command);
};

}  // namespace conntrail::cli
