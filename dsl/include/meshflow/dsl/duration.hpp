#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// An ISO 8601 duration as the specification uses them (`PT1S`, `P1DT2H`,
/// `PT0.5S`, `P2W`). Years and months have no fixed length: they are rejected,
/// because a timer needs an exact deadline.
struct iso_duration {
  std::chrono::milliseconds value{0};
  std::string text;

  friend bool operator==(const iso_duration& a, const iso_duration& b) {
    return a.value == b.value;
  }
};

/// Parses `text`; the error message says what is wrong with it.
expected<iso_duration> parse_duration(std::string_view text);

/// An ISO 8601 repeating interval, as `start.schedule.interval` takes it:
/// `R/PT2H` (every two hours, forever), `R5/PT1M`, `R/2024-01-01T00:00:00Z/P1D`,
/// or a bare duration (`PT2H`, read as `R/PT2H`).
struct iso_interval {
  std::optional<int> repetitions;  // absent: unbounded
  std::optional<std::string> start;  // an ISO 8601 date-time
  iso_duration period;
  std::string text;
};

expected<iso_interval> parse_interval(std::string_view text);

} // namespace meshflow::dsl
