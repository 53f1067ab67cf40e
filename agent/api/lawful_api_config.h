// agent/api/lawful_api_config.h — the `[lawful]` section of the agent config.
//
// The daemon parses its INI config with Boost.Program_options; this module
// contributes the lawful-query keys and turns them into LawfulApiOptions,
// validating each and naming the bad key ("lawful.approvals_required: must be
// at least 1"). Units are the ones people write (days, KiB); the options hold
// nanoseconds and bytes.
//
//   [lawful]
//   officers_file = /etc/conntrail/officers.json
//   approvals_required = 1        ; approvers besides the requester, >= 1
//   request_ttl_days = 30         ; requests expire this long after creation
//   max_selectors = 16
//   min_prefix_v4 = 24            ; no prefix broader than this
//   min_prefix_v6 = 48
//   max_window_days = 31
//   retention_days = 365          ; must match [storage] retention
//   max_result_streams = 4
//   result_buffer_kib = 1024      ; per result stream
//   auth_failures_per_minute = 60 ; journaled; the rest are counted
//
// The journal lives in the data directory (storage::journal_path_for_data_dir).
#pragma once

#include <boost/program_options/options_description.hpp>
#include <string>

#include "agent/api/lawful_api.h"
#include "core/result.h"

namespace conntrail::agent {

struct LawfulApiConfig {
  std::string officers_file;
  unsigned approvals_required = 1;
  unsigned request_ttl_days = 30;
  unsigned max_selectors = 16;
  int min_prefix_v4 = 24;
  int min_prefix_v6 = 48;
  unsigned max_window_days = 31;
  unsigned retention_days = 365;
  unsigned max_result_streams = 4;
  unsigned result_buffer_kib = 1024;
  unsigned auth_failures_per_minute = 60;
};

// Adds the "lawful.*" keys, storing into `config` on notify().
void add_lawful_api_options(boost::program_options::options_description& description,
                            LawfulApiConfig& config);

// Validates and converts. kInvalidArgument naming the key on a bad value.
Result<LawfulApiOptions> to_lawful_api_options(const LawfulApiConfig& config,
                                               const std::string& data_dir);

}  // namespace conntrail::agent
