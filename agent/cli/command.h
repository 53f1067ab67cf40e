// agent/cli/command.h — subcommands of the operator's `conntrail` tool.
//
// Each subcommand lives in its own <name>_command.cc and registers itself with
// a file-scope RegisterCommand, so adding a subcommand touches no other file.
// run() gets the arguments after the subcommand name and returns the exit code
// (0 ok, 1 runtime failure, 2 usage error). It prints errors to stderr itself.
#pragma once

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

struct RegisterCommand {
  explicit RegisterCommand(Command command);
};

}  // namespace conntrail::cli
