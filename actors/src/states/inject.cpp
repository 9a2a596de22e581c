// An Inject state (spec, "Inject State"): its `data` is merged into the
// state's data input, the injected side winning (SEMANTICS.md, "Data"),
// and the state completes at once.

#include "state_hooks.hpp"

#include "meshflow/dsl/data.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::inject> {
  static void start(machine& m) {
    auto& cur = *m.i_.current;
    const auto& inject = std::get<dsl::inject_state>(m.state_def().properties);
    cur.data = dsl::merge(cur.data, jq::value::from_json(inject.data));
    m.complete_state();
  }
};

namespace {
using rules = state_rules<dsl::state_type::inject>;
}

constinit const state_hooks inject_hooks{
  .start = rules::start,
  .data = state_data,
};

} // namespace meshflow::actors
