#pragma once

// When a scheduled workflow (`start.schedule`) starts its next instance:
// an ISO 8601 repeating interval (`R/PT1H`, `R5/2026-01-01T00:00:00Z/P1D`)
// or a cron expression read in its `timezone` (an IANA name; UTC when
// absent), until `validUntil`. The admin actor arms one timer at a time
// from it, and keeps where the schedule stands (deployed when, started how
// often, last when) in a record of `<cluster>.definitions`, written in the
// transaction of each start it makes: after a restart a start that came
// due meanwhile is made at once, once (starts missed in a row are one
// late start), and the others keep their phase and count.

#include <memory>
#include <optional>

#include "meshflow/actors/instance.hpp"
#include "meshflow/dsl/model.hpp"
#include "meshflow/error.hpp"

namespace date {
class time_zone;
}

namespace meshflow::actors {

class start_schedule {
public:
  /// The schedule of a workflow deployed at `deployed_at`; the error (code
  /// `definition`) names an unknown time zone or an unreadable date-time.
  static expected<start_schedule> make(const dsl::schedule& s, epoch_ms deployed_at);

  /// The first start strictly after `t`, when `started` instances have
  /// started on this schedule; none once its repetitions are used up or
  /// `validUntil` is passed.
  std::optional<epoch_ms> next_after(epoch_ms t, int started) const;

  /// The same schedule for a workflow deployed at `t` (a node reloading a
  /// definition keeps the phase of its interval from the first deploy).
  void deployed_at(epoch_ms t) {
    if (!starts_at_anchor_)
      anchor_ = t;
  }

private:
  dsl::schedule schedule_;
  const date::time_zone* zone_ = nullptr;  // cron only; nullptr: UTC
  epoch_ms anchor_ = 0;                     // interval: its start
  bool starts_at_anchor_ = false;           // the interval names its start
  std::optional<epoch_ms> valid_until_;
};

/// An ISO 8601 date-time with an offset or `Z` (`2026-03-29T08:00:00Z`,
/// `2026-03-29T10:00:00+02:00`); without one, UTC.
expected<epoch_ms> parse_date_time(std::string_view text);

} // namespace meshflow::actors
