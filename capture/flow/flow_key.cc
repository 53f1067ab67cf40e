// capture/flow/flow_key.cc — make_flow_key and hash_flow_key are inline in
// flow_key.h (they run for every packet); this file only checks the layout.
#include "capture/flow/flow_key.h"

namespace conntrail::capture {

static_assert(sizeof(FlowKey) == 44, "FlowKey must have no padding");

}  // namespace conntrail::capture
