#pragma once

// How data moves through states, actions and events (the specification's
// "State data filters", "Action data filters", "Event data filters" and
// "Data merging", with the readings of SEMANTICS.md). Pure functions over a
// compiled plan: the runtime calls them; they know nothing of actors.
//
// Every function takes the definition path of the part it applies (a state
// `states[2]`, an action `states[2].actions[0]`, an event data filter
// `states[0].onEvents[1].eventDataFilter`), the path under which `compile`
// registered its expressions, and the instance's `$WORKFLOW` value.

#include <string>

#include "meshflow/dsl/jq.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// The data a state works on: its data input through `stateDataFilter.input`.
expected<jq::value> state_data_in(const plan& p, const std::string& state_path,
                                  const jq::value& input, const jq::value& workflow);

/// A state's output: its data through `stateDataFilter.output`.
expected<jq::value> state_data_out(const plan& p, const std::string& state_path,
                                   const jq::value& data, const jq::value& workflow);

/// An action's input: the state data through `actionDataFilter.fromStateData`.
expected<jq::value> action_input(const plan& p, const std::string& action_path,
                                 const jq::value& state_data, const jq::value& workflow);

/// An action's result through its `actionDataFilter.results` (the result
/// itself when there is none): what is merged, and what a foreach
/// iteration yields.
expected<jq::value> action_results(const plan& p, const std::string& action_path,
                                   const jq::value& result, const jq::value& workflow);

/// The state data after merging `selected` (an `action_results` value) at
/// the action's `toStateData`, or unchanged with `useResults: false`.
expected<jq::value> merge_selected_result(const plan& p, const action& a,
                                          const std::string& action_path,
                                          const jq::value& state_data,
                                          const jq::value& selected, const jq::value& workflow);

/// The state data after an action's `result`: `useResults: false` leaves it
/// as it was; else `results` selects from the result, which is merged at
/// `toStateData` (or into the whole data; a non-object there is error
/// `merge`).
expected<jq::value> merge_action_result(const plan& p, const action& a,
                                        const std::string& action_path,
                                        const jq::value& state_data, const jq::value& result,
                                        const jq::value& workflow);

/// The state data after a consumed event, through its event data filter
/// `filter` written at `filter_path` (absent: the whole payload is merged).
/// `useData: false` leaves the data as it was; else `data` selects from the
/// payload, merged at `toStateData`. `payload` is the event's data
/// (`dataOnly: true`) or the whole event with its context attributes.
expected<jq::value> merge_event_data(const plan& p,
                                     const std::optional<event_data_filter>& filter,
                                     const std::string& filter_path,
                                     const jq::value& state_data, const jq::value& payload,
                                     const jq::value& workflow);

/// A value written in the definition with `${ }` expressions inside
/// (`arguments`, event `data`, `contextAttributes`, `continueAs.data`): each
/// expression string is replaced by its value on `input`; everything else
/// is kept as written.
expected<jq::value> render_template(const plan& p, const std::string& path,
                                    const nlohmann::json& written, const jq::value& input,
                                    const jq::value& workflow);

} // namespace meshflow::dsl
