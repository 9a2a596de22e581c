#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "meshflow/dsl/model.hpp"
#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// How an action is retried (SEMANTICS.md, "Errors, retries, timeouts").
struct retry_policy {
  std::chrono::milliseconds delay{1000};
  std::optional<std::chrono::milliseconds> max_delay;
  std::chrono::milliseconds increment{0};
  double multiplier = 1.0;
  std::optional<int> max_attempts;  // counts every attempt, the first included
  std::optional<std::variant<double, iso_duration>> jitter;

  /// The default policy of `autoRetries: true`: delay PT1S, multiplier 2,
  /// maxDelay PT1M, unlimited attempts.
  static retry_policy automatic();
  static retry_policy from(const retry_def& d);

  /// Whether attempt `attempt` (1 = the first call) may be followed by another.
  bool allows_another(int attempt) const { return !max_attempts || attempt < *max_attempts; }

  /// The delay before retry `n` (n = 1 for the first retry), before jitter:
  /// delay * multiplier^(n-1) + increment * (n-1), capped by maxDelay.
  std::chrono::milliseconds base_delay(int n) const;

  /// The delay with jitter applied: `unit` in [0, 1) draws where in
  /// [base - j, base + j] it falls, j being the jitter (a fraction of the
  /// base delay, or a duration). Never negative.
  std::chrono::milliseconds delay_for(int n, double unit) const;
};

/// Whether error definition `def` matches an error with `code`: by its code
/// when it has one, else by its name.
bool matches(const error_def& def, const std::string& code);

/// The retry decision for an action's failure: the policy to apply, or
/// none when the error is not retried (autoRetries and retryable /
/// nonRetryable error lists, as SEMANTICS.md says).
std::optional<retry_policy> retry_for(const workflow& w, const action& a,
                                      const std::string& code);

} // namespace meshflow::dsl
