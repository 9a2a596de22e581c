#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// A cron expression, in the Unix five-field form (`*/5 * * * *`) or the
/// Quartz six/seven-field form with seconds (`0 0/15 * * * ?`), as the 0.8
/// examples use both. Fields accept `*`, `?`, numbers, names (`MON`, `JAN`),
/// ranges `a-b`, steps `x/n` and lists `a,b`.
struct cron_schedule {
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool any_day_of_month = true;   // `*` or `?`
  bool any_day_of_week = true;
  std::string text;

  /// The first firing strictly after `t`, in UTC; none within five years
  /// (e.g. `0 0 30 2 *`) gives nullopt.
  std::optional<std::chrono::sys_seconds>
  next_after(std::chrono::sys_seconds t) const;
};

expected<cron_schedule> parse_cron(std::string_view text);

} // namespace meshflow::dsl
