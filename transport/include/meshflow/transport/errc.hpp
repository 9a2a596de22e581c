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

/// A bounded wait (flush, synchronous produce, commit) ran out of time.
inline constexpr char timeout[] = "timeout";

} // namespace meshflow::transport::errc
