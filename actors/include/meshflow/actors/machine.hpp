#pragma once

// The meaning of Serverless Workflow 0.8, as steps over an instance value.
//
// A `machine` applies one command at a time to an `instance` (instance.hpp)
// of a deployed `dsl::plan`, and asks the world for what it cannot do
// itself through `effects`: invoke a function, arm a timer, produce an
// event, start a sub-instance. Answers come back as commands naming the
// `token` the machine gave out (`function_done`, `timer`), or as events.
// The machine never blocks and never calls back into itself from an
// effect, so the same code runs in the instance actor (instance_actor.hpp),
// in tests with hand-driven effects, and in benchmarks.
//
// How a command is applied:
//  1. The command is queued as a `step` against a token; `drain` takes
//     steps in order.
//  2. `locate` finds what the token names in the active state: the state
//     itself, one of its timers, an action list (a branch, an iteration) or
//     an action in flight. A token that names nothing any more (the state
//     was left, a branch was cancelled) is stale and ignored: this is how
//     cancellation and late timers are harmless.
//  3. The step moves that part on: an action's result is merged
//     (dsl/data_flow.hpp) and the next action starts; a finished list
//     finishes its branch, iteration or state; a finished state applies its
//     output filter and follows its flow (`transition`/`end`, with
//     `produceEvents` and compensation) into the next state.
//  4. Whatever completes synchronously (an action skipped by its
//     condition, an expression function, a fire-and-forget event, an error)
//     is queued as a further step rather than handled in place, so that no
//     loop over branches or actions ever sees the state change under it.
//
// The rules applied are the specification's with the readings of
// SEMANTICS.md; docs/semantics.md lists them for users.

#include <chrono>
#include <cstdint>
#include <vector>
#include <map>
#include <optional>
#include <string>

#include "meshflow/actors/instance.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"
#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::actors {

/// A function call the machine wants made (and supervised).
struct invocation {
  std::uint64_t token = 0;
  std::uint32_t function = 0;  // index in the definition's `functions`
  jq::value arguments;
  const dsl::action* action = nullptr;  // its retry rules
  std::optional<std::chrono::milliseconds> timeout;  // actionExecTimeout
};

/// A sub-instance the machine wants started (`subFlowRef`).
struct child_start {
  std::uint64_t token = 0;  // for a sync subflow, `function_done` answers it
  std::string workflow_id;
  std::optional<std::string> version;
  jq::value input;
  bool wait = true;
};

/// A new instance an `end.continueAs` asks for.
struct continuation {
  std::string workflow_id;
  std::optional<std::string> version;
  jq::value input;
  std::optional<dsl::workflow_exec_timeout> exec_timeout;
};

/// What the machine asks of the world. Implementations must not call the
/// machine from inside these functions.
class effects {
public:
  virtual ~effects() = default;
  virtual epoch_ms now() = 0;
  virtual void invoke(invocation call) = 0;
  /// The invocation or sync sub-instance `token` is no longer wanted.
  virtual void cancel(std::uint64_t token) = 0;
  /// Send `timer(token)` at `deadline`.
  virtual void arm(std::uint64_t token, epoch_ms deadline) = 0;
  virtual void produce(transport::cloud_event event) = 0;
  /// Starts a sub-instance and returns its id.
  virtual expected<std::string> start_child(child_start request) = 0;
  /// Terminates a sub-instance started with `invoke: async`.
  virtual void end_child(const std::string& id) = 0;
  /// Starts the instance `continueAs` asks for and returns its id.
  virtual expected<std::string> continue_as(continuation next) = 0;
};

class machine {
public:
  /// `p` and `fx` must outlive the machine; `i` is the instance it changes.
  machine(const dsl::plan& p, instance& i, effects& fx);

  /// Starts the instance with `input` (a JSON object), at the start state.
  void start(jq::value input);

  /// The outcome of invocation or sync sub-instance `token`.
  void function_done(std::uint64_t token, expected<jq::value> result);
  /// The supervisor retries invocation `token` (for the history).
  void function_retrying(std::uint64_t token, int attempt, const std::string& code,
                         std::int64_t delay_ms);
  void timer(std::uint64_t token);
  /// A consumed event for this instance; kept when nothing waits for it.
  void event(const transport::cloud_event& e);

  void pause();
  void resume();
  /// Terminates the instance (status TERMINATED, `reason` in its history).
  void cancel(const std::string& reason);
  /// Re-runs a FAULTED instance from the state that failed.
  expected<void> retry();

  /// After `restore`: checks that the instance fits the plan (a snapshot
  /// names states and actions by index; one from another definition could
  /// point past them), then arms its timers again and re-issues the
  /// invocations that were in flight (REST calls are at-least-once). On a
  /// misfit (error `snapshot`) nothing has changed.
  expected<void> rearm();

  /// Whether the instance reached a final status.
  bool ended() const;
  /// The number of states entered since the machine was made (benchmarks).
  std::uint64_t transitions() const { return transitions_; }

private:
  expected<void> fits() const;

  enum class step_kind : std::uint8_t { result, failure, timer, skip };
  struct step {
    std::uint64_t token;
    step_kind kind;
    jq::value value;
    meshflow::error error;
  };

  struct location;
  location locate(std::uint64_t token) const;

  void queue(std::uint64_t token, step_kind kind, jq::value value = {}, meshflow::error e = {});
  void drain();
  void apply(step& s);

  // states
  void enter(std::uint32_t state, jq::value input);
  void run_state();
  void complete_state(std::optional<flow_ref> chosen = std::nullopt);
  void after_state(std::optional<flow_ref> ref, jq::value data);
  void follow(const flow_ref& ref, bool compensated);
  void compensate_next();
  void state_failed(const meshflow::error& e);
  void stop_work();
  void finish(instance_status s, std::optional<instance_error> error = std::nullopt);
  void exec_timeout();
  /// The instance's workflowExecTimeout: its continueAs's, else the
  /// definition's.
  const dsl::workflow_exec_timeout* workflow_timeout() const;

  // action lists and actions
  void start_list(std::uint32_t slot, jq::value data);
  void fill_list(std::size_t li);
  void schedule_action(std::size_t li, std::size_t ai);
  void invoke_action(std::size_t li, std::size_t ai);
  void action_result(std::size_t li, std::size_t ai, jq::value result);
  void complete_action(std::size_t li, std::size_t ai, std::optional<jq::value> result);
  void list_done(std::size_t li);
  void cancel_list(const action_list_run& l);
  void start_iterations();

  // events
  bool offer(const transport::cloud_event& e);
  void offer_kept();
  bool matches(std::size_t event_def, const transport::cloud_event& e) const;
  void record_correlation(std::size_t event_def, const transport::cloud_event& e);
  expected<jq::value> payload(std::size_t event_def, const transport::cloud_event& e) const;
  void produce_events(const std::vector<dsl::produce_event_def>& defs, const std::string& path,
                      const jq::value& data);
  /// Event `event_def` with the `data` and `contextAttributes` written at
  /// `path`, rendered on `input` (no `data`: `input` itself).
  expected<transport::cloud_event> make_event(std::size_t event_def,
                                              const std::optional<nlohmann::json>& data,
                                              const std::map<std::string, std::string>& attributes,
                                              const std::string& path, const jq::value& input);
  void produce(transport::cloud_event e);

  // helpers
  std::uint64_t token() { return i_.next_token++; }
  std::uint64_t arm_in(std::chrono::milliseconds d, epoch_ms& deadline);
  void note(std::string_view kind, std::string detail);
  const dsl::state& state_def() const;
  const dsl::action& action_def(const action_list_run& l, const action_run& a) const;
  std::string action_path(const action_list_run& l, const action_run& a) const;
  const dsl::flow* resolve(const flow_ref& ref) const;
  std::optional<std::chrono::milliseconds> action_timeout() const;
  std::optional<std::chrono::milliseconds> event_timeout() const;

  const dsl::plan& plan_;
  const dsl::workflow& w_;
  instance& i_;
  effects& fx_;
  jq::value workflow_;  // $WORKFLOW
  std::vector<step> steps_;  // FIFO, drained by index
  std::uint64_t transitions_ = 0;
};

} // namespace meshflow::actors
