#include "meshflow/dsl/duration.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <regex>
#include <vector>

#include <fmt/format.h>

namespace meshflow::dsl {

namespace {

constexpr double ms_per_second = 1000.0;
constexpr double ms_per_minute = 60 * ms_per_second;
constexpr double ms_per_hour = 60 * ms_per_minute;
constexpr double ms_per_day = 24 * ms_per_hour;

std::string format_canonical(double days, double hours, double minutes, double seconds) {
  auto num = [](double v) { return fmt::format("{}", v); };
  std::string out = "P";
  if (days != 0)
    out += num(days) + "D";
  if (hours != 0 || minutes != 0 || seconds != 0 || days == 0) {
    out += "T";
    if (hours != 0)
      out += num(hours) + "H";
    if (minutes != 0)
      out += num(minutes) + "M";
    if (seconds != 0 || (hours == 0 && minutes == 0))
      out += num(seconds) + "S";
  }
  return out;
}

} // namespace

expected<iso_duration> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail("duration", fmt::format("'{}' is not an ISO 8601 duration: {} "
                                        "(write e.g. PT30S, PT5M, P1DT12H)",
                                        text, why));
  };
  if (text.empty() || text.front() != 'P')
    return bad("it must start with 'P'");
  double days = 0, hours = 0, minutes = 0, seconds = 0;
  bool in_time = false, any = false, lenient = false;
  std::size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time)
        return bad("'T' appears twice");
      in_time = true;
      ++i;
      continue;
    }
    auto start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' || text[i] == ','))
      ++i;
    if (start == i)
      return bad(fmt::format("expected a number at position {}", start + 1));
    if (i == text.size())
      return bad("a number must be followed by a unit");
    std::string number{text.substr(start, i - start)};
    for (auto& c : number)
      if (c == ',')
        c = '.';
    char* end = nullptr;
    double v = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(v))
      return bad(fmt::format("'{}' is not a number", number));
    any = true;
    switch (text[i]) {
      case 'Y':
      case 'M':
        if (text[i] == 'M' && in_time) {
          minutes += v;
          break;
        }
        return bad("years and months have no fixed length; use days (D) or weeks (W)");
      case 'W':
        lenient = lenient || in_time;
        days += 7 * v;
        break;
      case 'D':
        lenient = lenient || in_time;
        days += v;
        break;
      case 'H':
        if (!in_time)
          return bad("hours (H) come after 'T'");
        hours += v;
        break;
      case 'S':
        if (!in_time)
          return bad("seconds (S) come after 'T'");
        seconds += v;
        break;
      default: return bad(fmt::format("unknown unit '{}'", text[i]));
    }
    ++i;
  }
  if (!any)
    return bad("it has no amount");
  double ms = days * ms_per_day + hours * ms_per_hour + minutes * ms_per_minute
              + seconds * ms_per_second;
  if (ms > 100.0 * 365 * ms_per_day)
    return bad("it is longer than a hundred years");
  iso_duration d;
  d.value = std::chrono::milliseconds{static_cast<long long>(std::llround(ms))};
  d.text = lenient ? format_canonical(days, hours, minutes, seconds) : std::string{text};
  return d;
}

expected<iso_interval> parse_interval(std::string_view text) {
  iso_interval out;
  out.text = std::string{text};
  auto bad = [&](std::string_view why) {
    return fail("duration", fmt::format("'{}' is not an ISO 8601 repeating interval: {} "
                                        "(write e.g. R/PT2H or R5/2024-01-01T00:00:00Z/PT1H)",
                                        text, why));
  };
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '/') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  std::size_t next = 0;
  if (parts[0].starts_with('R')) {
    auto count = parts[0].substr(1);
    if (!count.empty()) {
      int n = 0;
      auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc{} || p != count.data() + count.size() || n < 0)
        return bad(fmt::format("'{}' is not a repetition count", parts[0]));
      out.repetitions = n;
    }
    next = 1;
  }
  auto rest = parts.size() - next;
  if (rest == 0)
    return bad("it has no duration");
  if (rest > 2)
    return bad("it has too many '/'");
  if (rest == 2) {
    static const std::regex date_time{
      R"(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)"};
    std::string s{parts[next]};
    if (!std::regex_match(s, date_time))
      return bad(fmt::format("'{}' is not an ISO 8601 date-time", s));
    out.start = s;
    ++next;
  }
  auto d = parse_duration(parts[next]);
  if (!d)
    return bad(d.error().message);
  if (d->value.count() <= 0)
    return bad("its duration must be positive");
  out.period = *d;
  return out;
}

} // namespace meshflow::dsl
