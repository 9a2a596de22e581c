#pragma once

// The error codes meshflow::transport puts in `meshflow::error::code`.

namespace meshflow::transport::errc {

/// A CloudEvent that breaks the CloudEvents 1.0 rules, or input (a Kafka
/// message, JSON text, protobuf bytes) that does not hold a valid one. The
/// message names the attribute, header or member that is wrong.
inline constexpr char invalid_event[] = "cloudevent";

/// librdkafka refused a configuration or an operation, or reported a failed
/// delivery or a consumer error; a broker refused to create a topic, or a
/// topic exists with other partitions or cleanup policy than asked. The
/// message carries librdkafka's or the broker's text.
inline constexpr char kafka[] = "kafka";

/// The classes of a failed transactional operation (`kafka_producer`'s
/// `init_transactions`, `begin_transaction`, `send_offsets_to_transaction`,
/// `commit_transaction`, `abort_transaction`), as librdkafka classifies
/// them. Each says what the caller does next.
///
/// `kafka_retriable`: nothing was decided; call the same operation again
/// (its timeout ran out, a coordinator moved). A `commit_transaction` that
/// fails so may have committed: calling it again is how to find out.
inline constexpr char kafka_retriable[] = "kafka-retriable";

/// `kafka_abortable`: the current transaction cannot commit (a record was
/// not delivered, the consumer group's generation moved on so the offsets
/// were refused): call `abort_transaction`, then replay the batch from the
/// last committed offsets, if the partitions are still owned.
inline constexpr char kafka_abortable[] = "kafka-abortable";

/// `kafka_fenced`: a newer producer with the same `transactional.id` has
/// called `init_transactions`; this one is a zombie and can do nothing more.
/// Destroy it; whatever it was producing for is owned by someone else now.
inline constexpr char kafka_fenced[] = "kafka-fenced";

/// `kafka_fatal`: the producer has another unrecoverable error (e.g. the
/// idempotent producer lost the order of its records, or the transactional
/// id is not authorized). Destroy it and create a new one.
inline constexpr char kafka_fatal[] = "kafka-fatal";

/// A bounded wait (flush, synchronous produce, commit, an HTTP request)
/// ran out of time.
inline constexpr char timeout[] = "timeout";

/// An HTTP origin could not be reached, or the exchange broke: DNS,
/// refused, reset, TLS (SEMANTICS.md, "Errors, retries, timeouts").
inline constexpr char connection[] = "connection";

/// Input beyond the bounds set for it: a response body larger than its
/// request allows (see also `meshflow::check_json`).
inline constexpr char limit[] = "limit";

/// A caller's arguments are wrong: a URL, an operation id, a cluster or
/// topic name, a partition count. The message names the argument.
inline constexpr char arguments[] = "arguments";

} // namespace meshflow::transport::errc
