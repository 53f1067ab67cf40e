// `conntrail audit verify --data-dir DIR | --journal FILE [--json]` — offline
// verification of the hash-chained audit journal (storage/journal/).
//
// Exit codes: 0 the chain verifies; 1 it does not (every problem is printed,
// naming the line and sequence number), or the file cannot be read; 2 usage.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "storage/journal/journal.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

int run_verify(const std::vector<std::string>& args) {
  po::options_description desc("conntrail audit verify");
  desc.add_options()("help,h", "show this help")(
      "data-dir", po::value<std::string>(),
      "the agent's data directory (holds audit-journal.ndjson)")(
      "journal", po::value<std::string>(), "the journal file itself")(
      "max-line", po::value<std::size_t>()->default_value(storage::kDefaultMaxJournalLine),
      "longest valid journal line in bytes")("json", "print the report as JSON");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail audit verify: %s\n", e.what());
    return 2;
  }
  if (vm.count("help") != 0) {
    std::cout << "usage: conntrail audit verify (--data-dir DIR | --journal FILE) [--json]\n"
              << desc;
    return 0;
  }
  if ((vm.count("data-dir") != 0) == (vm.count("journal") != 0)) {
    std::fprintf(stderr, "conntrail audit verify: give exactly one of --data-dir, --journal\n");
    return 2;
  }
  const std::string path =
      vm.count("journal") != 0
          ? vm["journal"].as<std::string>()
          : storage::journal_path_for_data_dir(vm["data-dir"].as<std::string>());
  auto report = storage::verify_journal(path, vm["max-line"].as<std::size_t>());
  if (!report) {
    std::fprintf(stderr, "conntrail audit verify: %s\n", report.error().message.c_str());
    return 1;
  }
  if (vm.count("json") != 0) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : report->problems) {
      problems.push_back({{"kind", std::string(storage::to_string(p.kind))},
                          {"line", p.line},
                          {"seq", p.seq},
                          {"count", p.count},
                          {"detail", p.detail}});
    }
    nlohmann::json j = {{"journal", path},
                        {"ok", report->ok()},
                        {"entries", report->entries},
                        {"last_seq", report->last_seq},
                        {"head_hash", report->head_hash},
                        {"torn_tail_bytes", report->torn_tail_bytes},
                        {"problems", problems},
                        {"problems_omitted", report->problems_omitted}};
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << path << ": " << storage::describe(*report);
  }
  return report->ok() ? 0 : 1;
}

int run(std::span<const std::string> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout,
                 "usage: conntrail audit verify (--data-dir DIR | --journal FILE) [--json]\n");
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "verify")
    return run_verify(std::vector<std::string>(args.begin() + 1, args.end()));
  std::fprintf(stderr, "conntrail audit: unknown subcommand '%s' (want verify)\n", args[0].c_str());
  return 2;
}

const RegisterCommand reg({"audit", "verify the hash-chained audit journal", &run});

}  // namespace
}  // namespace conntrail::cli
