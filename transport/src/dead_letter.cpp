#include "meshflow/transport/dead_letter.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "meshflow/transport/kafka_client.hpp"

namespace meshflow::transport {

namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point when) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              when.time_since_epoch()).count() % 1000;
  if (ms < 0)
    ms += 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(when)), ms);
}

} // namespace

kafka_message dead_letter_of(const kafka_record& poison, const error& why,
                             std::chrono::system_clock::time_point when) {
  kafka_message letter = poison.message;
  auto add = [&](std::string_view key, std::string value) {
    letter.headers.push_back({std::string(key), std::move(value)});
  };
  add(dead_letter_header::reason, why.message);
  add(dead_letter_header::code, why.code);
  add(dead_letter_header::topic, poison.topic);
  add(dead_letter_header::partition, std::to_string(poison.partition));
  add(dead_letter_header::offset, std::to_string(poison.offset));
  add(dead_letter_header::time, rfc3339_utc(when));
  return letter;
}

dead_letter_queue::dead_letter_queue(std::string topic) : topic_(std::move(topic)) {}

expected<void> dead_letter_queue::send(kafka_producer& producer, const kafka_record& poison,
                                       const error& why) {
  auto queued = producer.produce(
    topic_, dead_letter_of(poison, why, std::chrono::system_clock::now()));
  if (!queued)
    return fail(queued.error().code,
                fmt::format("dead letter of {} [{}] offset {}: {}", poison.topic,
                            poison.partition, poison.offset, queued.error().message));
  ++sent_;
  return {};
}

} // namespace meshflow::transport
