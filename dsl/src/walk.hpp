#pragma once

// Walks over the parts of a state that several passes visit.

#include <string>
#include <variant>

#include <fmt/format.h>

#include "meshflow/dsl/model.hpp"

namespace meshflow::dsl::detail {

/// Visits every action of a state with its definition path.
template <class F>
void for_each_action(const state& s, const std::string& path, F&& f) {
  auto list = [&](const std::vector<action>& actions, const std::string& at) {
    for (std::size_t i = 0; i < actions.size(); ++i)
      f(actions[i], fmt::format("{}[{}]", at, i));
  };
  std::visit(
    [&](const auto& p) {
      using T = std::decay_t<decltype(p)>;
      if constexpr (std::is_same_v<T, event_state>) {
        for (std::size_t i = 0; i < p.on_events.size(); ++i)
          list(p.on_events[i].actions, fmt::format("{}.onEvents[{}].actions", path, i));
      } else if constexpr (std::is_same_v<T, operation_state> || std::is_same_v<T, foreach_state>) {
        list(p.actions, path + ".actions");
      } else if constexpr (std::is_same_v<T, parallel_state>) {
        for (std::size_t i = 0; i < p.branches.size(); ++i)
          list(p.branches[i].actions, fmt::format("{}.branches[{}].actions", path, i));
      } else if constexpr (std::is_same_v<T, callback_state>) {
        f(p.action, path + ".action");
      }
    },
    s.properties);
}

/// Visits every flow of a state (its own, its conditions', its handlers').
template <class F>
void for_each_flow(const state& s, const std::string& path, F&& f) {
  if (s.flow)
    f(*s.flow, path + (std::holds_alternative<transition_def>(*s.flow) ? ".transition" : ".end"));
  for (std::size_t i = 0; i < s.on_errors.size(); ++i) {
    const auto& h = s.on_errors[i].flow;
    f(h, fmt::format("{}.onErrors[{}].{}", path, i,
                     std::holds_alternative<transition_def>(h) ? "transition" : "end"));
  }
  if (const auto* sw = std::get_if<switch_state>(&s.properties)) {
    auto key = [](const flow& fl) {
      return std::holds_alternative<transition_def>(fl) ? "transition" : "end";
    };
    for (std::size_t i = 0; i < sw->data_conditions.size(); ++i)
      f(sw->data_conditions[i].flow,
        fmt::format("{}.dataConditions[{}].{}", path, i, key(sw->data_conditions[i].flow)));
    for (std::size_t i = 0; i < sw->event_conditions.size(); ++i)
      f(sw->event_conditions[i].flow,
        fmt::format("{}.eventConditions[{}].{}", path, i, key(sw->event_conditions[i].flow)));
    f(sw->default_condition,
      fmt::format("{}.defaultCondition.{}", path, key(sw->default_condition)));
  }
}

} // namespace meshflow::dsl::detail
