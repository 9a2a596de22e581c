#pragma once

// What the machine asks of a state type (machine.hpp, "Where it is
// written").
//
// The generic steps of machine.cpp ask every state type the same
// questions at the same points of a state's life; `state_hooks` is that
// list of questions, and each state type answers them in a file of its
// own, states/<type>.cpp: there `state_rules<T>` holds what the type does
// and `<type>_hooks` points the questions at it. A hook left null is a
// point the state type does not have (a sleep state has no action lists).

#include <cstdint>
#include <span>
#include <string>

#include <fmt/format.h>

#include "meshflow/actors/machine.hpp"

namespace meshflow::actors {

struct state_hooks {
  // --- how it runs --------------------------------------------------------

  /// Runs the state: its data input, filtered, is the state data
  /// (state_run::data) and its stateExecTimeout is armed. The state either
  /// completes (machine::complete_state), fails (machine::state_failed) or
  /// leaves something running or waiting.
  void (*start)(machine& m) = nullptr;
  /// List `l`, taken out of the state, has run its last action.
  void (*list_done)(machine& m, action_list_run l) = nullptr;
  /// An event for the instance that no action waits for, in whatever phase
  /// the state is; whether the state took it (if not, the machine keeps
  /// it or ignores it).
  bool (*offer)(machine& m, const consumed_event& e) = nullptr;

  // --- its timers (stateExecTimeout is every state's: machine.cpp) -------

  /// Its timer fired (state_run::timer_token: a sleep's duration, an
  /// eventTimeout).
  void (*timer)(machine& m) = nullptr;
  /// The timer of one of its lists fired (action_list_run::timer_token,
  /// armed by machine::start_list's `timeout`: a branchExecTimeout).
  void (*list_timer)(machine& m) = nullptr;

  // --- how it completes (output filter, `transition`/`end`: machine.cpp) --

  /// What it does as it completes, before its output filter; an error
  /// fails the state.
  expected<void> (*completing)(machine& m) = nullptr;
  /// The flow of a site of its own (flow_site: a switch's conditions);
  /// null: it has none (`transition`/`end` and `onErrors` are every
  /// state's).
  const dsl::flow* (*flow)(const dsl::state& s, flow_site site, std::uint32_t index) = nullptr;

  // --- its action lists (a sleep, switch or inject state runs none) -------

  /// The actions of its list `slot` (action_list_run::slot: the branch,
  /// the `onEvents`, the iteration; 0 for the others).
  std::span<const dsl::action> (*actions)(const dsl::state& s, std::uint32_t slot) = nullptr;
  /// Whether it has a list `slot`: what the lists of a snapshot must
  /// satisfy (machine::rearm); null: it has none.
  bool (*has_list)(const dsl::state& s, std::uint32_t slot) = nullptr;
  /// Whether the actions of list `slot` all start at once (`actionMode:
  /// parallel`); null: one after another.
  bool (*all_at_once)(const dsl::state& s, std::uint32_t slot) = nullptr;
  /// The definition path of action `action` of list `slot`, `state` being
  /// the state's (`states[1]`).
  std::string (*action_path)(const std::string& state, std::uint32_t slot,
                             std::uint32_t action) = nullptr;
  /// The data the actions of list `l` see, made of the state data and the
  /// list's; null: the list's own data.
  jq::value (*list_data)(const state_run& cur, const action_list_run& l) = nullptr;
  /// What a list keeps of `data`, its data after an action merged its
  /// result; null: all of it.
  jq::value (*kept_list_data)(const state_run& cur, jq::value data) = nullptr;
  /// Whether the result of a list's last action is merged into the list's
  /// data, as every other action's is. If not, it is the list's result
  /// only (action_list_run::last_result), whatever JSON it is.
  bool last_result_merged = true;

  // --- its data -----------------------------------------------------------

  /// Its data as it stands while it runs (`current_data`: what `get`
  /// shows, what an `onErrors` target receives).
  jq::value (*data)(const state_run& cur) = nullptr;
};

/// What state type T does; defined in states/<type>.cpp, a friend of
/// `machine`.
template <dsl::state_type T>
struct state_rules;

extern const state_hooks sleep_hooks;
extern const state_hooks event_hooks;
extern const state_hooks operation_hooks;
extern const state_hooks parallel_hooks;
extern const state_hooks switch_hooks;
extern const state_hooks inject_hooks;
extern const state_hooks foreach_hooks;
extern const state_hooks callback_hooks;

/// The hooks of state type `t`.
inline const state_hooks& hooks_of(dsl::state_type t) {
  switch (t) {
    case dsl::state_type::sleep:
      return sleep_hooks;
    case dsl::state_type::event:
      return event_hooks;
    case dsl::state_type::operation:
      return operation_hooks;
    case dsl::state_type::parallel:
      return parallel_hooks;
    case dsl::state_type::switch_:
      return switch_hooks;
    case dsl::state_type::inject:
      return inject_hooks;
    case dsl::state_type::foreach:
      return foreach_hooks;
    case dsl::state_type::callback:
      return callback_hooks;
  }
  return operation_hooks;  // not reached: the cases are the enum's
}

inline const state_hooks& hooks_of(const dsl::state& s) { return hooks_of(s.type()); }

/// The definition path of state `s`: `states[2]`.
inline std::string state_path(std::uint32_t s) { return fmt::format("states[{}]", s); }

/// The data of a state that runs no action lists on it: the state data.
inline jq::value state_data(const state_run& cur) { return cur.data; }

/// The data of a state whose action lists work on the state data itself
/// (operation, event, callback): the running list's, results merged so far;
/// between lists, the state data.
inline jq::value running_list_data(const state_run& cur) {
  return cur.lists.empty() ? cur.data : cur.lists.front().data;
}

} // namespace meshflow::actors
