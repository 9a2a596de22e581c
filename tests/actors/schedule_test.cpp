#include "meshflow/actors/schedule.hpp"

#include <gtest/gtest.h>

#include "meshflow/dsl/cron.hpp"
#include "meshflow/dsl/duration.hpp"

namespace meshflow::actors {
namespace {

epoch_ms at(const char* text) { return *parse_date_time(text); }

dsl::schedule cron(const char* expression, std::optional<std::string> zone = {},
                   std::optional<std::string> until = {}) {
  dsl::schedule s;
  s.cron = *dsl::parse_cron(expression);
  s.timezone = std::move(zone);
  s.valid_until = std::move(until);
  return s;
}

dsl::schedule interval(const char* text) {
  dsl::schedule s;
  s.interval = *dsl::parse_interval(text);
  return s;
}

TEST(schedule, cron_reads_wall_clock_time_in_its_time_zone) {
  // Berlin moves to summer time on 2026-03-29: 09:00 is 08:00Z, then 07:00Z.
  auto s = *start_schedule::make(cron("0 0 9 * * ?", "Europe/Berlin"), 0);
  auto first = s.next_after(at("2026-03-28T12:00:00Z"), 0);
  EXPECT_EQ(first, at("2026-03-29T07:00:00Z"));
  EXPECT_EQ(s.next_after(*first, 1), at("2026-03-30T07:00:00Z"));
  EXPECT_EQ(s.next_after(at("2026-03-27T12:00:00Z"), 0), at("2026-03-28T08:00:00Z"));
  auto utc = *start_schedule::make(cron("0 0 9 * * ?"), 0);
  EXPECT_EQ(utc.next_after(at("2026-03-28T12:00:00Z"), 0), at("2026-03-29T09:00:00Z"));
}

TEST(schedule, cron_stops_at_valid_until) {
  auto s = *start_schedule::make(cron("0 0 9 * * ?", "Europe/Berlin", "2026-03-29T08:00:00Z"),
                                 0);
  EXPECT_EQ(s.next_after(at("2026-03-28T12:00:00Z"), 0), at("2026-03-29T07:00:00Z"));
  EXPECT_EQ(s.next_after(at("2026-03-29T07:00:00Z"), 1), std::nullopt);
}

TEST(schedule, interval_repeats_from_deploy_or_from_its_start) {
  auto deployed = at("2026-01-01T10:00:00Z");
  auto s = *start_schedule::make(interval("R2/PT1H"), deployed);
  EXPECT_EQ(s.next_after(deployed, 0), at("2026-01-01T11:00:00Z"));
  EXPECT_EQ(s.next_after(at("2026-01-01T11:00:00Z"), 1), at("2026-01-01T12:00:00Z"));
  EXPECT_EQ(s.next_after(at("2026-01-01T12:00:00Z"), 2), std::nullopt);
  auto anchored = *start_schedule::make(interval("R/2026-01-01T00:00:00Z/PT12H"), deployed);
  EXPECT_EQ(anchored.next_after(deployed, 0), at("2026-01-01T12:00:00Z"));
  EXPECT_EQ(anchored.next_after(at("2025-12-31T00:00:00Z"), 0), at("2026-01-01T00:00:00Z"));
}

TEST(schedule, refuses_unknown_zones_and_dates) {
  auto zone = start_schedule::make(cron("* * * * *", "Mars/Olympus"), 0);
  ASSERT_FALSE(zone);
  EXPECT_EQ(zone.error().message, "start.schedule.timezone: unknown time zone 'Mars/Olympus'");
  EXPECT_FALSE(start_schedule::make(cron("* * * * *", {}, "next tuesday"), 0));
  EXPECT_EQ(parse_date_time("2026-03-29T10:00:00+02:00"), at("2026-03-29T08:00:00Z"));
}

} // namespace
} // namespace meshflow::actors
