#include "meshflow/dsl/retry.hpp"

#include <algorithm>
#include <cmath>

namespace meshflow::dsl {

using std::chrono::milliseconds;

retry_policy retry_policy::automatic() {
  retry_policy p;
  p.delay = milliseconds{1000};
  p.multiplier = 2.0;
  p.max_delay = milliseconds{60'000};
  return p;
}

retry_policy retry_policy::from(const retry_def& d) {
  retry_policy p;
  if (d.delay)
    p.delay = d.delay->value;
  if (d.max_delay)
    p.max_delay = d.max_delay->value;
  if (d.increment)
    p.increment = d.increment->value;
  if (d.multiplier)
    p.multiplier = *d.multiplier;
  p.max_attempts = d.max_attempts;
  p.jitter = d.jitter;
  return p;
}

milliseconds retry_policy::base_delay(int n) const {
  n = std::max(n, 1);
  double ms = static_cast<double>(delay.count()) * std::pow(multiplier, n - 1)
              + static_cast<double>(increment.count()) * (n - 1);
  if (max_delay)
    ms = std::min(ms, static_cast<double>(max_delay->count()));
  // A day is longer than any sensible retry; it also keeps the cast defined.
  ms = std::clamp(ms, 0.0, 86'400'000.0);
  return milliseconds{static_cast<long long>(std::llround(ms))};
}

milliseconds retry_policy::delay_for(int n, double unit) const {
  auto base = base_delay(n);
  if (!jitter)
    return base;
  double spread = std::holds_alternative<double>(*jitter)
                    ? std::get<double>(*jitter) * static_cast<double>(base.count())
                    : static_cast<double>(std::get<iso_duration>(*jitter).value.count());
  double ms = static_cast<double>(base.count()) + (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0) * spread;
  return milliseconds{static_cast<long long>(std::llround(std::max(ms, 0.0)))};
}

bool matches(const error_def& def, const std::string& code) {
  return def.code ? *def.code == code : def.name == code;
}

namespace {

bool listed(const workflow& w, const std::vector<std::string>& names, const std::string& code) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
    auto it = std::find_if(w.errors.begin(), w.errors.end(),
                           [&](const error_def& d) { return d.name == name; });
    return it != w.errors.end() && matches(*it, code);
  });
}

std::optional<retry_policy> named_policy(const workflow& w, const std::string& name) {
  auto it = std::find_if(w.retries.begin(), w.retries.end(),
                         [&](const retry_def& d) { return d.name == name; });
  if (it == w.retries.end())
    return std::nullopt;
  return retry_policy::from(*it);
}

} // namespace

std::optional<retry_policy> retry_for(const workflow& w, const action& a,
                                      const std::string& code) {
  if (w.auto_retries) {
    if (listed(w, a.non_retryable_errors, code))
      return std::nullopt;
    if (a.retry_ref)
      return named_policy(w, *a.retry_ref);
    return retry_policy::automatic();
  }
  if (!listed(w, a.retryable_errors, code))
    return std::nullopt;
  if (a.retry_ref)
    return named_policy(w, *a.retry_ref);
  // Retryable, but no policy named: the default policy applies.
  return retry_policy::automatic();
}

} // namespace meshflow::dsl
