#include "meshflow/actors/schedule.hpp"

#include <sstream>

// g++ 12 at -O3 reports a false -Wmaybe-uninitialized inside date's
// parse; only here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

namespace meshflow::actors {

expected<epoch_ms> parse_date_time(std::string_view text) {
  for (const char* format : {"%FT%T%Ez", "%FT%TZ", "%FT%T"}) {
    std::istringstream in{std::string{text}};
    date::sys_time<std::chrono::milliseconds> t;
    in >> date::parse(format, t);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof())
      return t.time_since_epoch().count();
  }
  return fail("definition", fmt::format("'{}' is not an ISO 8601 date-time", text));
}

expected<start_schedule> start_schedule::make(const dsl::schedule& s, epoch_ms deployed_at) {
  start_schedule out;
  out.schedule_ = s;
  out.anchor_ = deployed_at;
  if (s.timezone) {
    try {
      out.zone_ = date::locate_zone(*s.timezone);
    } catch (const std::exception&) {
      return fail("definition", fmt::format("start.schedule.timezone: unknown time zone '{}'",
                                            *s.timezone));
    }
  }
  if (s.interval && s.interval->start) {
    auto start = parse_date_time(*s.interval->start);
    if (!start)
      return fail("definition",
                  fmt::format("start.schedule.interval: {}", start.error().message));
    out.anchor_ = *start;
    out.starts_at_anchor_ = true;
  }
  if (s.valid_until) {
    auto until = parse_date_time(*s.valid_until);
    if (!until)
      return fail("definition",
                  fmt::format("start.schedule.cron.validUntil: {}", until.error().message));
    out.valid_until_ = *until;
  }
  return out;
}

std::optional<epoch_ms> start_schedule::next_after(epoch_ms t, int started) const {
  std::optional<epoch_ms> next;
  if (const auto& iv = schedule_.interval) {
    if (iv->repetitions && started >= *iv->repetitions)
      return std::nullopt;
    auto period = iv->period.value.count();
    if (period <= 0)
      return std::nullopt;
    // The first k (0 only when the interval names its start) with
    // anchor + k * period > t.
    std::int64_t k = t < anchor_ ? 0 : (t - anchor_) / period + 1;
    if (!starts_at_anchor_)
      k = std::max<std::int64_t>(k, 1);
    next = anchor_ + k * period;
  } else if (const auto& cron = schedule_.cron) {
    using namespace std::chrono;
    auto now = sys_seconds{duration_cast<seconds>(milliseconds{t})};
    // Cron fields are wall-clock fields: find the firing in local time.
    auto local = zone_ ? zone_->to_local(now).time_since_epoch() : now.time_since_epoch();
    auto fire = cron->next_after(sys_seconds{local});
    if (!fire)
      return std::nullopt;
    auto at = zone_ ? zone_->to_sys(date::local_seconds{fire->time_since_epoch()},
                                    date::choose::earliest)
                    : *fire;
    next = duration_cast<milliseconds>(at.time_since_epoch()).count();
  }
  if (next && valid_until_ && *next > *valid_until_)
    return std::nullopt;
  return next;
}

} // namespace meshflow::actors
