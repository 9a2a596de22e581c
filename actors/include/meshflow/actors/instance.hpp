#pragma once

// A workflow instance as a value (DESIGN.md, principle 2).
//
// Everything an instance is lives here: where it is in its definition (the
// active state and, inside it, the action lists, branches and iterations
// that run), its data, the actions in flight and the timers armed (with
// absolute deadlines), the events it keeps, its compensation stack, its
// correlation keys and its history. `machine.hpp` changes an instance by
// applying one command at a time; an actor animates it; `snapshot` turns it
// into the protobuf message `meshflow.instance.Instance`
// (transport/proto/instance.proto) and `restore` back, at any step boundary.
//
// The instance never points into its definition: states, actions and
// branches are indices, so a snapshot can be restored against the same
// deployed version on any node.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshflow/dsl/jq.hpp"
#include "meshflow/dsl/model.hpp"
#include "meshflow/error.hpp"
#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::actors {

/// Milliseconds since the Unix epoch: timer deadlines and history times.
using epoch_ms = std::int64_t;

/// The wall clock, in epoch_ms.
epoch_ms now_ms();

enum class instance_status { running, paused, completed, faulted, terminated };

std::string_view to_string(instance_status s);
/// COMPLETED, FAULTED or TERMINATED: the instance has ended.
bool is_final(instance_status s);
std::optional<instance_status> parse_status(std::string_view text);

/// What an action in flight waits for.
enum class action_wait : std::uint8_t {
  deferred,      // not started: the instance was paused when its turn came
  sleep_before,  // `sleep.before` timer
  function,      // a functionRef invocation (a supervisor runs it)
  result_event,  // the result event of an eventRef
  subflow,       // a sync subflow instance
  sleep_after,   // `sleep.after` timer; `result` holds the action's result
};

/// One action of a list, started and not finished.
struct action_run {
  std::uint32_t action = 0;  // index in its list
  action_wait wait = action_wait::deferred;
  std::uint64_t token = 0;   // names the invocation, timer or awaited event
  epoch_ms deadline = 0;     // of the timer (sleep, resultEventTimeout); 0: none
  jq::value result;          // the result, kept over `sleep.after`
  /// A function call's failed attempts so far, and when the next one is
  /// due (0: none waits): a restored call goes on with its retries, late
  /// rather than again from the first.
  std::uint32_t attempts = 0;
  epoch_ms retry_at = 0;
};

/// A list of actions running on one copy of data: the actions of an
/// operation state, of one `onEvents` of an event state, of a callback
/// state, of one parallel branch or of one foreach iteration.
struct action_list_run {
  /// Which list of the state: the branch, the `onEvents` or the iteration
  /// (index into the input collection); 0 for the others.
  std::uint32_t slot = 0;
  jq::value data;
  std::uint32_t next = 0;  // the next action to start
  std::vector<action_run> running;
  /// The last action's result after its `results` filter (a foreach
  /// iteration's result).
  jq::value last_result;
  std::uint64_t timer_token = 0;  // branchExecTimeout
  epoch_ms deadline = 0;
};

/// What an active state is doing.
enum class state_phase : std::uint8_t {
  waiting_events,  // event state, or a switch on events
  running_actions,
  sleeping,
  callback_event,  // callback state: the action ran, waiting for the event
  entering,        // entered, not yet run: the machine yielded (machine::proceed)
};

/// The active state of an instance.
struct state_run {
  std::uint32_t state = 0;
  std::uint64_t token = 0;  // names this run of the state (its errors)
  state_phase phase = state_phase::running_actions;
  jq::value input;  // the state's data input, kept for an operator retry
  jq::value data;   // the state data
  std::uint64_t timer_token = 0;  // sleep, eventTimeout
  epoch_ms deadline = 0;
  std::uint64_t exec_timer_token = 0;  // stateExecTimeout.total
  epoch_ms exec_deadline = 0;
  /// stateExecTimeout.single: armed again whenever an action is retried.
  std::uint64_t single_timer_token = 0;
  epoch_ms single_deadline = 0;
  std::vector<action_list_run> lists;
  /// Event state (exclusive: false): the event references that arrived.
  std::vector<std::string> arrived;
  /// Foreach: the input collection, the next element to start and the
  /// iteration results by element; parallel: the branch results by branch.
  /// A foreach iteration's `data` holds only what differs from the state
  /// data (its `iterationParam` and what its actions merged), so that an
  /// iteration costs its own size, not the state data's.
  jq::value items;
  std::uint32_t next_item = 0;
  std::vector<std::optional<jq::value>> results;
  std::uint32_t completed = 0;
};

/// Which flow of a state: its own `transition`/`end`, an `onErrors`
/// handler's, a switch condition's or the default condition's.
enum class flow_site : std::uint8_t { state, on_error, data_condition, event_condition, default_condition };

/// Names a flow of the definition without pointing into it.
struct flow_ref {
  std::uint32_t state = 0;
  flow_site site = flow_site::state;
  std::uint32_t index = 0;
};

/// Compensation under way: the states still to compensate, and the flow
/// that asked for it, which goes on once they all have.
struct compensation_run {
  std::vector<std::uint32_t> pending;  // compensated states, the next one last
  flow_ref origin;
};

/// A sub-instance started by an `async` subFlowRef.
struct child_instance {
  std::string id;
  bool terminate_with_parent = true;
};

/// An event consumed for an instance, and the channel (topic) it came
/// from, if it came over one: an event definition bound to an AsyncAPI
/// channel matches the events of that channel.
struct consumed_event {
  transport::cloud_event event;
  std::string channel;
};

struct history_entry {
  epoch_ms at = 0;
  std::string kind;    // state.entered, action.completed, timer.fired, ...
  std::string detail;  // the state, the action, the error
};

struct instance_error {
  std::string code;
  std::string message;
  std::string state;
};

struct instance {
  std::string id;
  std::string workflow_id;
  std::string version;
  instance_status status = instance_status::running;
  /// A sync subflow's parent and the action that waits for it: told of the
  /// outcome when this instance (or the last of its continueAs chain) ends.
  std::string parent_id;
  std::uint64_t parent_token = 0;
  /// The correlation of the events that started it, if events did (the
  /// router starts no second instance for them while this one lives).
  std::string start_key;
  /// Between states, and once the instance ended: the workflow data.
  jq::value data;
  std::optional<state_run> current;
  std::optional<compensation_run> compensation;
  /// States that completed and have `compensatedBy`, oldest first.
  std::vector<std::uint32_t> compensable;
  std::optional<instance_error> error;
  /// workflowExecTimeout: the deadline, and whether it was reached (the
  /// instance then runs `runBefore`, or lets the state finish).
  std::uint64_t exec_timer_token = 0;
  epoch_ms exec_deadline = 0;
  bool timed_out = false;
  /// Once the timeout was reached: the `runBefore` chain is running.
  bool running_before = false;
  /// The workflowExecTimeout of the `continueAs` that started this
  /// instance; it replaces the definition's.
  std::optional<dsl::workflow_exec_timeout> exec_timeout;
  /// Correlation values recorded from the first event consumed.
  std::vector<std::pair<std::string, std::string>> correlation;
  /// Consumed events that nothing waited for yet (SEMANTICS.md, "Events").
  std::vector<consumed_event> kept_events;
  std::vector<child_instance> children;
  std::uint64_t next_token = 1;
  /// States entered so far (bounded by machine_limits::max_transitions).
  std::uint64_t transitions = 0;
  std::uint64_t events_produced = 0;
  /// The most recent history entries (an instance actor keeps a tail of
  /// `history_tail` of them), and how many came before: those are only in
  /// `<cluster>.history`, where every entry goes as it is made.
  std::vector<history_entry> history;
  std::uint64_t history_dropped = 0;
};

/// The history entries an instance actor keeps in the instance (and its
/// snapshot) at most.
inline constexpr std::size_t history_tail = 64;

/// A workflowExecTimeout as `meshflow.instance.ExecTimeout` bytes (how a
/// continueAs hands it to the admin) and back.
std::string encode(const dsl::workflow_exec_timeout& t);
expected<dsl::workflow_exec_timeout> decode_exec_timeout(std::string_view bytes);

/// The instance's recorded correlation values, `name=value;` each in the
/// order recorded (the router's index key).
std::string correlation_text(const instance& i);

/// The instance as `meshflow.instance.Instance` bytes.
std::string snapshot(const instance& i);

/// The instance a snapshot holds; the error names what is wrong with it.
expected<instance> restore(std::string_view bytes);

} // namespace meshflow::actors
