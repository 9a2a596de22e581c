#include <gtest/gtest.h>

#include "meshflow/dsl/cron.hpp"
#include "meshflow/dsl/duration.hpp"

using namespace meshflow::dsl;
using namespace std::chrono;

TEST(duration, iso_8601) {
  EXPECT_EQ(parse_duration("PT1S")->value, 1s);
  EXPECT_EQ(parse_duration("PT0.5S")->value, 500ms);
  EXPECT_EQ(parse_duration("P1DT2H30M")->value, 26h + 30min);
  EXPECT_EQ(parse_duration("P2W")->value, hours{14 * 24});
  EXPECT_FALSE(parse_duration("1S"));
  EXPECT_FALSE(parse_duration("PT"));
  EXPECT_FALSE(parse_duration("P1M"));  // months have no fixed length
  EXPECT_FALSE(parse_duration("PT5X"));
  EXPECT_FALSE(parse_duration("P1H"));
}

TEST(duration, days_after_t_as_the_examples_write_them) {
  auto d = parse_duration("PT30D");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, hours{30 * 24});
  EXPECT_EQ(d->text, "P30D");
}

TEST(duration, repeating_intervals) {
  auto i = parse_interval("R/PT2H");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->repetitions);
  EXPECT_EQ(i->period.value, 2h);
  auto j = parse_interval("R5/2024-01-01T00:00:00Z/PT1M");
  ASSERT_TRUE(j);
  EXPECT_EQ(*j->repetitions, 5);
  EXPECT_EQ(*j->start, "2024-01-01T00:00:00Z");
  EXPECT_FALSE(parse_interval("R/yesterday/PT1M"));
  EXPECT_FALSE(parse_interval("R/PT0S"));
}

TEST(cron, quartz_and_unix_forms) {
  auto q = parse_cron("0 0/15 * * * ?");
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->minutes.test(0) && q->minutes.test(15) && q->minutes.test(45));
  EXPECT_FALSE(q->minutes.test(10));
  auto u = parse_cron("30 9 * JAN-MAR MON-FRI");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->months.test(2) && !u->months.test(4));
  EXPECT_TRUE(u->days_of_week.test(1) && !u->days_of_week.test(0));
  EXPECT_FALSE(parse_cron("* * *"));
  EXPECT_FALSE(parse_cron("60 * * * *"));
  EXPECT_FALSE(parse_cron("*/0 * * * *"));
}

TEST(cron, next_firing) {
  auto c = parse_cron("0 0/15 * * * ?");
  sys_seconds t = sys_days{2026y / November / 22} + 10h + 7min + 3s;
  EXPECT_EQ(c->next_after(t), sys_days{2026y / November / 22} + 10h + 15min);
  auto weekdays = parse_cron("30 9 * * MON-FRI");
  sys_seconds sunday = sys_days{2026y / November / 22} + 12h;  // a Sunday
  EXPECT_EQ(weekdays->next_after(sunday), sys_days{2026y / November / 23} + 9h + 30min);
  EXPECT_FALSE(parse_cron("0 0 30 2 *")->next_after(sunday));
}
