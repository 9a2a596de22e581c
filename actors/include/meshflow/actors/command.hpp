#pragma once

// Commands: every input to a workflow instance (DESIGN.md, principle 1).
//
// A start, a consumed event, a timer that fired, pause, resume, cancel,
// retry, a subflow's outcome: each is a `command` for one instance, applied
// by the partition that owns the instance (partition.hpp), in the order
// they arrive. On Kafka a command is a record of `<cluster>.commands` keyed
// by its instance id (`meshflow.command.Command`, transport/proto/
// command.proto); between actors it travels as this value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include "meshflow/actors/instance.hpp"
#include "meshflow/actors/supervisor.hpp"
#include "meshflow/dsl/model.hpp"
#include "meshflow/error.hpp"
#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::actors {

/// A new instance.
struct start_command {
  std::string workflow_id;
  std::string version;  // "": the version deployed last
  std::string input;    // a JSON object
  /// A continueAs's workflowExecTimeout, replacing the definition's.
  std::optional<dsl::workflow_exec_timeout> exec_timeout;
  /// A sync subflow's parent, told of its outcome (a child_done command).
  std::string parent_id;
  std::uint64_t parent_token = 0;
  /// The correlation of the events that started it (the router's start
  /// key), and those events, delivered to it in order.
  std::string start_key;
  std::vector<consumed_event> events;
  /// dataInputSchema violations it starts despite (failOnValidationErrors:
  /// false); its history records them.
  std::string input_invalid;
};

/// A consumed event, and the channel (topic) it came from, if any.
struct event_command {
  transport::cloud_event event;
  std::string channel;
};

struct timer_command {
  std::uint64_t token = 0;
};
struct pause_command {};
struct resume_command {};
struct cancel_command {
  std::string reason;
};
struct retry_command {};

/// A sync subflow's outcome, for its parent.
struct child_done_command {
  std::uint64_t token = 0;
  invocation_result result;
};

struct command {
  std::string instance_id;
  /// An admin request waiting for this command's outcome ("" none).
  std::string request_id;
  std::variant<start_command, event_command, timer_command, pause_command, resume_command,
               cancel_command, retry_command, child_done_command>
    what;
  /// Where the node read it: its offset in its partition of
  /// `<cluster>.commands` (-1: not read yet). Not part of the record; a
  /// dead letter of the command names it.
  std::int64_t offset = -1;
};

/// A command that cannot be applied (its instance is unknown, its snapshot
/// does not fit its version, its payload is over the limits): it goes to
/// the dead-letter topic with the reason, in the transaction of the batch
/// that refused it.
struct dead_command {
  command what;
  error why;
};

/// A fresh instance id: a random (version 4) UUID.
std::string new_instance_id();

/// The partition of `instance_id` among `partitions`: where Kafka's
/// default partitioner puts a record keyed by the id
/// (`transport::partition_for_key`, murmur2). The same for the commands
/// and the instances topics, so that any node knows an instance's owner
/// from its id alone.
std::uint32_t partition_of(std::string_view instance_id, std::uint32_t partitions);

/// The command as `meshflow.command.Command` bytes.
std::string encode(const command& c);

/// The command those bytes hold; the error (code `command`) says what is
/// wrong with them.
expected<command> decode_command(std::string_view bytes);

/// The command's kind, for logs and errors: `start`, `event`, ...
std::string_view kind_of(const command& c);

/// A consumed event as bytes: the CloudEvent in the Protobuf event format,
/// and its channel.
std::string encode(const consumed_event& e);
expected<consumed_event> decode_consumed_event(std::string_view bytes);

/// Between actors a consumed event travels as its bytes, so that it can
/// cross nodes as it is.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumed_event& x) {
  std::string bytes;
  auto save = caf::meta::save_callback([&]() -> caf::error {
    bytes = encode(x);
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto decoded = decode_consumed_event(bytes);
    if (!decoded)
      return caf::make_error(caf::sec::invalid_argument, decoded.error().message);
    x = std::move(*decoded);
    return caf::none;
  });
  return f(caf::meta::type_name("meshflow.consumed_event"), save, bytes, load);
}

/// Between actors a command travels as its protobuf bytes, so that it can
/// cross nodes as it is.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command& x) {
  std::string bytes;
  auto save = caf::meta::save_callback([&]() -> caf::error {
    bytes = encode(x);
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto decoded = decode_command(bytes);
    if (!decoded)
      return caf::make_error(caf::sec::invalid_argument, decoded.error().message);
    x = std::move(*decoded);
    return caf::none;
  });
  return f(caf::meta::type_name("meshflow.command"), save, bytes, load);
}

} // namespace meshflow::actors
