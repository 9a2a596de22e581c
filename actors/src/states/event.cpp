// An Event state (spec, "Event State"): it waits for the events of its
// `onEvents`; with `exclusive: true` (default) the first matching event
// of any of them runs that `onEvents`' actions, with `exclusive: false`
// all its events must arrive, in any order, and then the actions of every
// `onEvents` run, one list after another (SEMANTICS.md, "Events"). Each
// event's data is merged into the state data (`eventDataFilter`) as it
// arrives. eventTimeout is not an error: the state follows its flow
// without running its actions. While its actions run, its data is the
// running list's (the results merged so far).

#include "state_hooks.hpp"

#include <algorithm>

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::event> {
  static const dsl::event_state& def(const dsl::state& s) {
    return std::get<dsl::event_state>(s.properties);
  }

  /// It waits, its eventTimeout armed; the events kept for the instance
  /// are offered first.
  static void start(machine& m) { m.wait_for_events(state_phase::waiting_events); }

  /// While it waits: an event of its `onEvents` (each reference once, when
  /// not exclusive) is merged; then, exclusive, that `onEvents`' actions
  /// run; otherwise, once all have arrived, the first `onEvents`' do.
  static bool offer(machine& m, const consumed_event& incoming) {
    auto& cur = *m.i_.current;
    if (cur.phase != state_phase::waiting_events)
      return false;
    const auto& ev = def(m.state_def());
    auto path = state_path(cur.state);
    for (std::uint32_t j = 0; j < ev.on_events.size(); ++j) {
      const auto& on = ev.on_events[j];
      for (const auto& ref : on.event_refs) {
        auto d = m.plan_.event_index.at(ref);
        if (!m.matches(d, incoming))
          continue;
        if (!ev.exclusive &&
            std::find(cur.arrived.begin(), cur.arrived.end(), ref) != cur.arrived.end())
          continue;  // already had this one
        if (!m.merge_event(on.event_data_filter,
                           fmt::format("{}.onEvents[{}].eventDataFilter", path, j), d, incoming))
          return true;
        if (ev.exclusive) {
          cur.phase = state_phase::running_actions;
          cur.timer_token = cur.deadline = 0;
          m.start_list(j, cur.data);
          return true;
        }
        cur.arrived.push_back(ref);
        std::size_t wanted = 0;
        for (const auto& o : ev.on_events)
          wanted += o.event_refs.size();
        if (cur.arrived.size() >= wanted) {
          cur.phase = state_phase::running_actions;
          cur.timer_token = cur.deadline = 0;
          m.start_list(0, cur.data);
        }
        return true;
      }
    }
    return false;
  }

  /// The actions of `onEvents[l.slot]` are done: with `exclusive: false`,
  /// the next `onEvents`' actions run, on the state data so far.
  static void list_done(machine& m, action_list_run l) {
    auto& cur = *m.i_.current;
    cur.data = std::move(l.data);
    const auto& ev = def(m.state_def());
    if (!ev.exclusive && l.slot + 1 < ev.on_events.size()) {
      m.start_list(l.slot + 1, cur.data);
      return;
    }
    m.complete_state();
  }

  /// eventTimeout: the state follows its flow without its actions.
  static void timer(machine& m) { m.complete_state(); }

  /// List `slot` runs the actions of `onEvents[slot]`.
  static std::span<const dsl::action> actions(const dsl::state& s, std::uint32_t slot) {
    return def(s).on_events[slot].actions;
  }
  static bool has_list(const dsl::state& s, std::uint32_t slot) {
    return slot < def(s).on_events.size();
  }
  static bool all_at_once(const dsl::state& s, std::uint32_t slot) {
    return def(s).on_events[slot].action_mode == dsl::action_mode::parallel;
  }
  static std::string action_path(const std::string& state, std::uint32_t slot,
                                 std::uint32_t action) {
    return fmt::format("{}.onEvents[{}].actions[{}]", state, slot, action);
  }
};

namespace {
using rules = state_rules<dsl::state_type::event>;
}

constinit const state_hooks event_hooks{
  .start = rules::start,
  .list_done = rules::list_done,
  .offer = rules::offer,
  .timer = rules::timer,
  .actions = rules::actions,
  .has_list = rules::has_list,
  .all_at_once = rules::all_at_once,
  .action_path = rules::action_path,
  .data = running_list_data,
};

} // namespace meshflow::actors
