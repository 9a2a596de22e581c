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
//     finishes its branch, iteration or state, as its state type says; a
//     timer means what its state type says; a finished state applies its
//     output filter and follows its flow (`transition`/`end`, with
//     `produceEvents` and compensation) into the next state.
//  4. Whatever completes synchronously (an action skipped by its
//     condition, an expression function, a fire-and-forget event, an error)
//     is queued as a further step rather than handled in place, so that no
//     loop over branches or actions ever sees the state change under it.
//  5. Entering a state is a step too: a transition queues it, so that the
//     stack never grows with the number of transitions (a loop of inject
//     and switch states runs in constant stack). After
//     `transitions_per_turn` states in one command, `drain` stops before
//     the next state runs: the instance is `busy()` (its state's phase is
//     `entering`, which the snapshot keeps) and its owner calls `proceed()`
//     when the instance's turn comes again, so that a loop that never waits
//     does not starve the other instances. After `max_transitions` states
//     in all, the instance faults with code `limit` (the bound Temporal and
//     Step Functions put on a history; `continueAs` starts afresh).
//
// Tokens are found through an index (token -> the list that holds it), so
// that a foreach with 100,000 iterations in flight costs the same per step
// as one with ten.
//
// Where it is written. The mechanism above is the same for every state
// and knows no state type; what a state type means lives in a file of
// its own, so that "where does a Parallel state run?" has one answer:
//
//  - actors/src/machine.cpp, the generic part: the commands; the step
//    queue, the token index, `locate` and `apply`; a state's life that is
//    every state's (entering with its data input filter and
//    stateExecTimeout, completing with its output filter, its
//    `transition`/`end` with `produceEvents`, `continueAs` and
//    compensation, `onErrors`, workflowExecTimeout and `runBefore`); action
//    lists and actions (conditions, `sleep`, functions, eventRef,
//    subflows, retries, actionExecTimeout, results and action data
//    filters); events (matching, correlation, payloads, the events kept,
//    the result events of eventRef actions, producing).
//  - actors/src/states/<type>.cpp, one file for each of the eight state
//    types (event, operation, switch, sleep, parallel, inject, foreach,
//    callback): `state_rules<T>` says how the state starts, what happens
//    when one of its action lists finishes, which events it takes while it
//    waits, what its timers mean (a sleep's duration, an eventTimeout, a
//    branchExecTimeout), how it completes (a foreach's outputCollection,
//    a switch's condition flows), which action lists it runs and how (the
//    actions, their paths, sequential or at once; what a snapshot's lists
//    must satisfy, for `rearm`), and what its data is while it runs
//    (`current_data`).
//  - actors/src/states/state_hooks.hpp: `state_hooks`, the questions the
//    generic steps ask a state type at those points, one function pointer
//    each; each file fills a table of them with its answers.
//
// Why a table of hooks and a file for each type: the generic steps ask
// every state type the same few questions at the same few points, so the
// questions are written once (state_hooks) and asked where the steps are,
// with no switch over state types left among them; a type's answers sit
// together in one file, which reads beside the type's section of the
// specification; what a type does not do is a hook left empty, plain to
// see (a sleep state runs no actions, only a parallel state's lists have
// timers). Plain function pointers, not virtual classes: a state type
// holds nothing of its own outside the instance value, its hooks are
// functions of the machine and the value like the rest of it, and each
// table is a constant (constinit), in place before any machine runs.
//
// The rules applied are the specification's with the readings of
// SEMANTICS.md; docs/semantics.md lists them for users.

#include <chrono>
#include <cstdint>
#include <vector>
#include <map>
#include <optional>
#include <string>
#include <span>
#include <unordered_map>

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
  /// Attempts that failed before (a call restored from a snapshot), and
  /// when the next one is due (0: at once).
  std::uint32_t attempts = 0;
  epoch_ms retry_at = 0;
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
  /// Publishes `event`, made from the workflow's event definition
  /// `event_def` (its channel, when it has one, is the definition's).
  virtual void produce(std::uint32_t event_def, transport::cloud_event event) = 0;
  /// Starts a sub-instance and returns its id.
  virtual expected<std::string> start_child(child_start request) = 0;
  /// Terminates a sub-instance started with `invoke: async`.
  virtual void end_child(const std::string& id) = 0;
  /// Starts the instance `continueAs` asks for and returns its id.
  virtual expected<std::string> continue_as(continuation next) = 0;
};

/// Bounds on one instance (node settings, docs/node.md).
struct machine_limits {
  /// States an instance may enter in all; beyond, it faults with `limit`.
  std::uint64_t max_transitions = 50'000;
  /// States entered in one command before the machine yields (busy()).
  std::uint32_t transitions_per_turn = 1'000;
};

/// The instance's data as it stands (what `get` shows, and what an
/// `onErrors` target receives): between states, the workflow data; in a
/// state, what its state type says (actors/src/states/): in an operation,
/// event or callback state, the running action list's data (the results
/// merged so far); in a parallel state, the state data with the branches
/// completed so far merged in definition order; in a foreach, the state
/// data (iterations work on copies; only `outputCollection`, written when
/// the state completes, changes it); otherwise the state data.
jq::value current_data(const dsl::plan& p, const instance& i);

class machine {
public:
  /// `p` and `fx` must outlive the machine; `i` is the instance it changes.
  /// `channels`: the channel each event definition is bound to, by index
  /// ("" or absent: none), from the deployment's AsyncAPI bindings.
  machine(const dsl::plan& p, instance& i, effects& fx, machine_limits limits = {},
          std::span<const std::string> channels = {});

  /// Starts the instance with `input` (a JSON object), at the start state.
  void start(jq::value input);

  /// The outcome of invocation or sync sub-instance `token`.
  void function_done(std::uint64_t token, expected<jq::value> result);
  /// The supervisor retries invocation `token` (for the history).
  void function_retrying(std::uint64_t token, int attempt, const std::string& code,
                         std::int64_t delay_ms);
  void timer(std::uint64_t token);
  /// A consumed event for this instance; kept when nothing waits for it.
  void event(const consumed_event& e);

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
  /// misfit (error `snapshot`) nothing has changed. A snapshot taken while
  /// the machine had yielded is `busy()` after it: `proceed()` runs on.
  expected<void> rearm();

  /// Whether the instance has entered a state it has not run yet because
  /// the machine yielded: call `proceed()` when its turn comes.
  bool busy() const;
  /// Runs on from where the machine yielded.
  void proceed();

  /// Whether the instance reached a final status.
  bool ended() const;
  /// The number of states entered since the machine was made (benchmarks).
  std::uint64_t transitions() const { return transitions_; }

private:
  // What each state type does (actors/src/states/<type>.cpp): it works on
  // the internals below, through the moves the generic part offers
  // (start_list, complete_state, state_failed, wait_for_events, ...).
  template <dsl::state_type T>
  friend struct state_rules;

  expected<void> fits() const;

  /// result: an action's result; done: an action completed without one (an
  /// async subflow, a fire-and-forget event); enter: run the state entered.
  enum class step_kind : std::uint8_t { result, done, failure, timer, skip, enter };
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

  // states: what is every state's (what is a state type's is its hooks')
  void enter(std::uint32_t state, jq::value input);
  void begin_state();
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
  /// Starts list `slot` of the active state on `data`; `timeout`: the
  /// list's own timer (what it means is the state type's).
  void start_list(std::uint32_t slot, jq::value data,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// List `li`'s data as its actions see it, and its data after an action
  /// (the state type may keep only part of it: a foreach iteration keeps
  /// what differs from the state data).
  jq::value list_data(std::size_t li) const;
  void set_list_data(std::size_t li, jq::value data);
  /// Removes list `li` and returns it (the last list takes its place).
  action_list_run take_list(std::size_t li);
  void index(std::uint64_t token, std::size_t li) { where_[token] = static_cast<std::uint32_t>(li); }
  void reindex();
  void fill_list(std::size_t li);
  void schedule_action(std::size_t li, std::size_t ai);
  void invoke_action(std::size_t li, std::size_t ai);
  void action_result(std::size_t li, std::size_t ai, jq::value result);
  void complete_action(std::size_t li, std::size_t ai, std::optional<jq::value> result);
  void list_done(std::size_t li);
  /// Cancels what the active state's lists have in flight; drops the lists.
  void cancel_lists();

  // events
  bool offer(const consumed_event& c);
  void offer_kept();
  /// The active state waits for events in `phase` (its eventTimeout
  /// armed); the kept events are offered.
  void wait_for_events(state_phase phase);
  /// Event `e` as consumed by definition `event_def`: its correlation
  /// recorded, its payload.
  expected<jq::value> consume(std::size_t event_def, const transport::cloud_event& e);
  /// Consumes `e` and merges its payload into the state data through
  /// `filter`; false: the state failed.
  bool merge_event(const std::optional<dsl::event_data_filter>& filter,
                   const std::string& filter_path, std::size_t event_def,
                   const consumed_event& e);
  bool matches(std::size_t event_def, const consumed_event& c) const;
  std::string_view channel_of(std::size_t event_def) const;
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
  void produce(std::size_t event_def, transport::cloud_event e);

  // helpers
  std::uint64_t token() { return i_.next_token++; }
  std::uint64_t arm_in(std::chrono::milliseconds d, epoch_ms& deadline);
  void note(std::string_view kind, std::string detail);
  const dsl::state& state_def() const;
  /// The actions of list `l` of the active state.
  std::span<const dsl::action> actions(const action_list_run& l) const;
  const dsl::action& action_def(const action_list_run& l, const action_run& a) const;
  std::string action_path(const action_list_run& l, const action_run& a) const;
  const dsl::flow* resolve(const flow_ref& ref) const;
  std::optional<std::chrono::milliseconds> action_timeout() const;
  std::optional<std::chrono::milliseconds> event_timeout() const;

  const dsl::plan& plan_;
  const dsl::workflow& w_;
  instance& i_;
  effects& fx_;
  machine_limits limits_;
  std::span<const std::string> channels_;
  jq::value workflow_;  // $WORKFLOW
  std::vector<step> steps_;  // FIFO, drained by index
  std::uint64_t transitions_ = 0;
  std::uint32_t entered_this_turn_ = 0;
  /// Action and list tokens of the active state -> the index of their list.
  std::unordered_map<std::uint64_t, std::uint32_t> where_;
};

} // namespace meshflow::actors
