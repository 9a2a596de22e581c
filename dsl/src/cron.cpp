#include "meshflow/dsl/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace meshflow::dsl {

namespace {

struct field_spec {
  std::string_view name;
  int min;
  int max;
  std::vector<std::string_view> names;  // names[i] stands for min + i
};

const field_spec second_field{"seconds", 0, 59, {}};
const field_spec minute_field{"minutes", 0, 59, {}};
const field_spec hour_field{"hours", 0, 23, {}};
const field_spec day_field{"day of month", 1, 31, {}};
const field_spec month_field{"month", 1, 12,
                             {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                              "SEP", "OCT", "NOV", "DEC"}};
const field_spec weekday_field{"day of week", 0, 7,
                               {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

expected<int> value_of(std::string_view token, const field_spec& f) {
  std::string upper{token};
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  for (std::size_t i = 0; i < f.names.size(); ++i)
    if (upper == f.names[i])
      return f.min + static_cast<int>(i);
  int v = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc{} || p != token.data() + token.size())
    return fail("cron", fmt::format("'{}' is not a valid {} value", token, f.name));
  if (v < f.min || v > f.max)
    return fail("cron", fmt::format("{} {} is out of range {}-{}", f.name, v, f.min, f.max));
  return v;
}

/// Sets the bits of one field; `any` tells whether it was `*` or `?`.
template <std::size_t N>
expected<bool> parse_field(std::string_view text, const field_spec& f, std::bitset<N>& bits) {
  if (text == "?" || text == "*") {
    for (int v = f.min; v <= std::min<int>(f.max, N - 1); ++v)
      bits.set(v);
    return true;
  }
  for (auto part : split(text, ',')) {
    auto slash = split(part, '/');
    if (slash.size() > 2)
      return fail("cron", fmt::format("'{}' has more than one '/'", part));
    int step = 1;
    if (slash.size() == 2) {
      auto [p, ec] = std::from_chars(slash[1].data(), slash[1].data() + slash[1].size(), step);
      if (ec != std::errc{} || p != slash[1].data() + slash[1].size() || step < 1)
        return fail("cron", fmt::format("'{}' is not a valid step in {}", slash[1], f.name));
    }
    int lo = f.min, hi = f.max;
    if (slash[0] != "*" && slash[0] != "?") {
      auto range = split(slash[0], '-');
      if (range.size() > 2 || range[0].empty())
        return fail("cron", fmt::format("'{}' is not a valid {} range", slash[0], f.name));
      auto a = value_of(range[0], f);
      if (!a)
        return tl::unexpected(a.error());
      lo = hi = *a;
      if (range.size() == 2) {
        auto b = value_of(range[1], f);
        if (!b)
          return tl::unexpected(b.error());
        hi = *b;
      } else if (slash.size() == 2) {
        hi = f.max;  // `5/15` means from 5 on, every 15
      }
      if (hi < lo)
        return fail("cron", fmt::format("range {}-{} in {} runs backwards", lo, hi, f.name));
    }
    for (int v = lo; v <= hi; v += step)
      bits.set(static_cast<std::size_t>(&f == &weekday_field ? v % 7 : v));  // 7 is Sunday too
  }
  return false;
}

} // namespace

expected<cron_schedule> parse_cron(std::string_view text) {
  auto bad = [&](const error& e) {
    return fail("cron", fmt::format("'{}' is not a valid cron expression: {}", text, e.message));
  };
  std::vector<std::string_view> fields;
  for (auto f : split(text, ' '))
    if (!f.empty())
      fields.push_back(f);
  if (fields.size() < 5 || fields.size() > 7)
    return fail("cron", fmt::format("'{}' is not a valid cron expression: it has {} fields; "
                                    "expected 5 (min hour day month weekday) or 6-7 with "
                                    "seconds first",
                                    text, fields.size()));
  cron_schedule c;
  c.text = std::string{text};
  std::size_t i = 0;
  if (fields.size() >= 6) {
    if (auto r = parse_field(fields[i++], second_field, c.seconds); !r)
      return bad(r.error());
  } else {
    c.seconds.set(0);
  }
  if (auto r = parse_field(fields[i++], minute_field, c.minutes); !r)
    return bad(r.error());
  if (auto r = parse_field(fields[i++], hour_field, c.hours); !r)
    return bad(r.error());
  auto dom = parse_field(fields[i++], day_field, c.days_of_month);
  if (!dom)
    return bad(dom.error());
  c.any_day_of_month = *dom;
  if (auto r = parse_field(fields[i++], month_field, c.months); !r)
    return bad(r.error());
  auto dow = parse_field(fields[i++], weekday_field, c.days_of_week);
  if (!dow)
    return bad(dow.error());
  c.any_day_of_week = *dow;
  if (fields.size() == 7 && fields[6] != "*" && fields[6] != "?")
    return fail("cron", fmt::format("'{}' is not a valid cron expression: meshflow does not "
                                    "support a year field other than '*'",
                                    text));
  return c;
}

std::optional<std::chrono::sys_seconds>
cron_schedule::next_after(std::chrono::sys_seconds t) const {
  namespace chr = std::chrono;
  auto limit = t + chr::years{5};
  auto candidate = t + chr::seconds{1};
  while (candidate <= limit) {
    auto day = chr::floor<chr::days>(candidate);
    chr::year_month_day ymd{day};
    auto month = static_cast<unsigned>(ymd.month());
    if (!months.test(month)) {
      auto next_month = chr::year_month_day{ymd.year() / ymd.month() / 1} + chr::months{1};
      candidate = chr::sys_days{next_month};
      continue;
    }
    auto dom_ok = days_of_month.test(static_cast<unsigned>(ymd.day()));
    auto dow_ok = days_of_week.test(chr::weekday{day}.c_encoding());
    // Unix rule: when both day fields are restricted, either may match.
    bool day_ok = any_day_of_month ? dow_ok
                  : any_day_of_week ? dom_ok
                                    : (dom_ok || dow_ok);
    if (!day_ok) {
      candidate = day + chr::days{1};
      continue;
    }
    chr::hh_mm_ss hms{candidate - day};
    auto h = static_cast<std::size_t>(hms.hours().count());
    if (!hours.test(h)) {
      candidate = day + chr::hours{h + 1};
      continue;
    }
    auto m = static_cast<std::size_t>(hms.minutes().count());
    if (!minutes.test(m)) {
      candidate = day + chr::hours{h} + chr::minutes{m + 1};
      continue;
    }
    auto s = static_cast<std::size_t>(hms.seconds().count());
    if (!seconds.test(s)) {
      candidate += chr::seconds{1};
      continue;
    }
    return candidate;
  }
  return std::nullopt;
}

} // namespace meshflow::dsl
