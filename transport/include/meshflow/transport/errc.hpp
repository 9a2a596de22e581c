#pragma once

// The error codes meshflow::transport puts in `meshflow::error::code`.

namespace meshflow::transport::errc {

/// A CloudEvent that breaks the CloudEvents 1.0 rules, or input (a Kafka
/// message, JSON text, protobuf bytes) that does not hold a valid one. The
/// message names the attribute, header or member that is wrong.
inline constexpr char invalid_event[] = "cloudevent";

/// librdkafka refused a configuration or an operation, or reported a failed
/// delivery or a consumer error. The message carries librdkafka's text.
inline constexpr char kafka[] = "kafka";

/// A bounded wait (flush, synchronous produce, commit, an HTTP request)
/// ran out of time.
inline constexpr char timeout[] = "timeout";

/// An HTTP origin could not be reached, or the exchange broke: DNS,
/// refused, reset, TLS (SEMANTICS.md, "Errors, retries, timeouts").
inline constexpr char connection[] = "connection";

/// Input beyond the bounds set for it: a response body larger than its
/// request allows (see also `meshflow::check_json`).
inline constexpr char limit[] = "limit";

} // namespace meshflow::transport::errc
