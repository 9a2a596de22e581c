// An Operation state (spec, "Operation State"): one action list on the
// state data, its actions one after another or all at once
// (`actionMode`); when the last one is done, the state completes.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::operation> {
  static void start(machine& m) { m.start_list(0, m.i_.current->data); }
};

namespace {
using rules = state_rules<dsl::state_type::operation>;
}

constinit const state_hooks operation_hooks{
  .start = rules::start,
  .data = running_list_data,
};

} // namespace meshflow::actors
