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
  static const dsl::switch_state& def(const dsl::state& s) {
    return std::get<dsl::switch_state>(s.properties);
  }

  static void start(machine& m) {
    const auto& sw = def(m.state_def());
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

  /// While it waits: the first event condition whose event this is merges
  /// it and chooses the flow.
  static bool offer(machine& m, const consumed_event& incoming) {
    auto& cur = *m.i_.current;
    if (cur.phase != state_phase::waiting_events)
      return false;
    const auto& sw = def(m.state_def());
    auto path = state_path(cur.state);
    for (std::uint32_t k = 0; k < sw.event_conditions.size(); ++k) {
      const auto& c = sw.event_conditions[k];
      auto d = m.plan_.event_index.at(c.event_ref);
      if (!m.matches(d, incoming))
        continue;
      if (m.merge_event(c.event_data_filter,
                        fmt::format("{}.eventConditions[{}].eventDataFilter", path, k), d,
                        incoming))
        m.complete_state(flow_ref{cur.state, flow_site::event_condition, k});
      return true;
    }
    return false;
  }

  /// eventTimeout, while waiting for an event condition: the default
  /// condition.
  static void timer(machine& m) {
    m.complete_state(flow_ref{m.i_.current->state, flow_site::default_condition, 0});
  }

  /// The flows of its conditions.
  static const dsl::flow* flow(const dsl::state& s, flow_site site, std::uint32_t index) {
    const auto& sw = def(s);
    switch (site) {
      case flow_site::default_condition:
        return &sw.default_condition;
      case flow_site::data_condition:
        return index < sw.data_conditions.size() ? &sw.data_conditions[index].flow : nullptr;
      case flow_site::event_condition:
        return index < sw.event_conditions.size() ? &sw.event_conditions[index].flow : nullptr;
      case flow_site::state:
      case flow_site::on_error:
        return nullptr;  // every state's (machine::resolve)
    }
    return nullptr;
  }
};

namespace {
using rules = state_rules<dsl::state_type::switch_>;
}

constinit const state_hooks switch_hooks{
  .start = rules::start,
  .offer = rules::offer,
  .timer = rules::timer,
  .flow = rules::flow,
  .data = state_data,
};

} // namespace meshflow::actors
