// A Switch state (spec, "Switch State"). On data (`dataConditions`): the
// first condition that holds on the state data chooses the flow, else
// `defaultCondition`. On events (`eventConditions`): the state waits, and
// the first matching event is merged (`eventDataFilter`) and chooses the
// flow; eventTimeout is not an error, it takes `defaultCondition`
// (SEMANTICS.md). The flows of its conditions are its own (flow_site).

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::switch_> {
  static const dsl::switch_state& def(const machine& m) {
    return std::get<dsl::switch_state>(m.state_def().properties);
  }

  static void start(machine& m) {
    const auto& sw = def(m);
    if (!sw.event_conditions.empty()) {
      m.wait_for_events(state_phase::waiting_events);
      return;
    }
    const auto& cur = *m.i_.current;
    auto path = state_path(cur.state);
    for (std::uint32_t k = 0; k < sw.data_conditions.size(); ++k) {
      auto id = m.plan_.expression(fmt::format("{}.dataConditions[{}].condition", path, k));
      if (!id)
        continue;
      auto r = m.plan_.expressions->evaluate(*id, cur.data, m.workflow_);
      if (!r) {
        m.state_failed({r.error().code, fmt::format("{}.dataConditions[{}].condition: {}", path,
                                                    k, r.error().message)});
        return;
      }
      if (r->truthy()) {
        m.complete_state(flow_ref{cur.state, flow_site::data_condition, k});
        return;
      }
    }
    m.complete_state(flow_ref{cur.state, flow_site::default_condition, 0});
  }

  /// eventTimeout, while waiting for an event condition: the default
  /// condition.
  static void timer(machine& m) {
    m.complete_state(flow_ref{m.i_.current->state, flow_site::default_condition, 0});
  }
};

namespace {
using rules = state_rules<dsl::state_type::switch_>;
}

constinit const state_hooks switch_hooks{
  .start = rules::start,
  .timer = rules::timer,
  .data = state_data,
};

} // namespace meshflow::actors
