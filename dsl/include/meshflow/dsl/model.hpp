#pragma once

// The Serverless Workflow 0.8 model. Names mirror the specification
// (`onErrors` is `on_errors`, `actionDataFilter` is `action_data_filter`), so
// that a reader can hold the specification beside this file. Types are
// resolved when a document is read: durations are parsed, one-of choices are
// variants, defaults are filled in. Expressions stay text here; `plan.hpp`
// compiles them.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/dsl/cron.hpp"
#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/duration.hpp"

namespace meshflow::dsl {

using json = nlohmann::json;
using metadata = std::map<std::string, std::string>;

enum class invoke_kind { sync, async };
enum class action_mode { sequential, parallel };
enum class completion_type { all_of, at_least };
enum class on_parent_complete { terminate, continue_ };
enum class event_kind { consumed, produced };
enum class function_type { rest, asyncapi, rpc, graphql, odata, expression, custom };
enum class auth_scheme { basic, bearer, oauth2 };

// --- Timeouts -------------------------------------------------------------

struct workflow_exec_timeout {
  iso_duration duration;
  bool interrupt = true;
  std::optional<std::string> run_before;
};

struct state_exec_timeout {
  std::optional<iso_duration> single;
  iso_duration total;
};

/// The `timeouts` object; which members a state may set depends on its type
/// (checked when the document is read).
struct timeouts {
  std::optional<dsl::workflow_exec_timeout> workflow_exec_timeout;
  std::optional<dsl::state_exec_timeout> state_exec_timeout;
  std::optional<iso_duration> action_exec_timeout;
  std::optional<iso_duration> branch_exec_timeout;
  std::optional<iso_duration> event_timeout;
};

// --- Definitions ----------------------------------------------------------

struct function_def {
  std::string name;
  std::string operation;
  function_type type = function_type::rest;
  std::optional<std::string> auth_ref;
  dsl::metadata metadata;
};

struct correlation_def {
  std::string context_attribute_name;
  std::optional<std::string> context_attribute_value;
};

struct event_def {
  std::string name;
  std::optional<std::string> source;
  std::string type;
  event_kind kind = event_kind::consumed;
  std::vector<correlation_def> correlation;
  bool data_only = true;
  dsl::metadata metadata;
};

struct error_def {
  std::string name;
  std::optional<std::string> code;
};

struct retry_def {
  std::string name;
  std::optional<iso_duration> delay;
  std::optional<iso_duration> max_delay;
  std::optional<iso_duration> increment;
  std::optional<double> multiplier;
  std::optional<int> max_attempts;  // absent: unlimited
  /// A fraction of the delay (0..1) or an absolute duration.
  std::optional<std::variant<double, iso_duration>> jitter;
};

struct auth_def {
  std::string name;
  auth_scheme scheme = auth_scheme::basic;
  /// The scheme's properties object, or a string (an expression or secret).
  json properties;
};

struct data_input_schema {
  std::string schema;
  bool fail_on_validation_errors = true;
};

struct schedule {
  std::optional<iso_interval> interval;
  std::optional<cron_schedule> cron;
  std::optional<std::string> valid_until;
  std::optional<std::string> timezone;
};

struct start_def {
  std::string state_name;  // empty: the first state
  std::optional<dsl::schedule> schedule;
};

// --- Data filters ---------------------------------------------------------

struct state_data_filter {
  std::optional<std::string> input;
  std::optional<std::string> output;
};

struct event_data_filter {
  bool use_data = true;
  std::optional<std::string> data;
  std::optional<std::string> to_state_data;
};

struct action_data_filter {
  std::optional<std::string> from_state_data;
  bool use_results = true;
  std::optional<std::string> results;
  std::optional<std::string> to_state_data;
};

// --- Transitions and ends -------------------------------------------------

struct produce_event_def {
  std::string event_ref;
  std::optional<json> data;  // an expression string or an object
  std::map<std::string, std::string> context_attributes;
};

struct continue_as_def {
  std::string workflow_id;
  std::optional<std::string> version;
  std::optional<json> data;  // an expression string or an object
  std::optional<dsl::workflow_exec_timeout> workflow_exec_timeout;
};

struct transition_def {
  std::string next_state;
  std::vector<produce_event_def> produce_events;
  bool compensate = false;
};

struct end_def {
  bool terminate = false;
  std::vector<produce_event_def> produce_events;
  bool compensate = false;
  std::optional<continue_as_def> continue_as;
};

/// Where control goes after a state, a condition or an error handler.
using flow = std::variant<transition_def, end_def>;

// --- Actions --------------------------------------------------------------

struct function_ref {
  std::string ref_name;
  json arguments = json::object();
  std::optional<std::string> selection_set;
  invoke_kind invoke = invoke_kind::sync;
};

struct event_ref {
  std::string trigger_event_ref;
  std::optional<std::string> result_event_ref;  // absent: fire-and-forget
  std::optional<iso_duration> result_event_timeout;
  std::optional<json> data;  // an expression string or an object
  std::map<std::string, std::string> context_attributes;
  invoke_kind invoke = invoke_kind::sync;
};

struct sub_flow_ref {
  std::string workflow_id;
  std::optional<std::string> version;
  dsl::on_parent_complete on_parent_complete = on_parent_complete::terminate;
  invoke_kind invoke = invoke_kind::sync;
};

struct sleep_def {
  std::optional<iso_duration> before;
  std::optional<iso_duration> after;
};

struct action {
  std::optional<std::string> id;
  std::optional<std::string> name;
  std::variant<function_ref, event_ref, sub_flow_ref> target;
  std::optional<sleep_def> sleep;
  std::optional<std::string> retry_ref;
  std::vector<std::string> non_retryable_errors;
  std::vector<std::string> retryable_errors;
  std::optional<dsl::action_data_filter> action_data_filter;
  std::optional<std::string> condition;
};

// --- States ---------------------------------------------------------------

struct on_error {
  std::vector<std::string> error_refs;  // `errorRef` is a list of one
  dsl::flow flow;
};

struct on_events {
  std::vector<std::string> event_refs;
  dsl::action_mode action_mode = action_mode::sequential;
  std::vector<action> actions;
  std::optional<dsl::event_data_filter> event_data_filter;
};

struct branch {
  std::string name;
  dsl::timeouts timeouts;
  std::vector<action> actions;
};

struct data_condition {
  std::optional<std::string> name;
  std::string condition;
  dsl::flow flow;
  dsl::metadata metadata;
};

struct event_condition {
  std::optional<std::string> name;
  std::string event_ref;
  dsl::flow flow;
  std::optional<dsl::event_data_filter> event_data_filter;
  dsl::metadata metadata;
};

struct sleep_state {
  iso_duration duration;
};

struct event_state {
  bool exclusive = true;
  std::vector<dsl::on_events> on_events;
};

struct operation_state {
  dsl::action_mode action_mode = action_mode::sequential;
  std::vector<action> actions;
};

struct parallel_state {
  std::vector<branch> branches;
  dsl::completion_type completion_type = completion_type::all_of;
  std::optional<int> num_completed;
};

struct switch_state {
  std::vector<data_condition> data_conditions;    // a data-based switch
  std::vector<event_condition> event_conditions;  // an event-based switch
  dsl::flow default_condition;
};

struct inject_state {
  json data = json::object();
};

struct foreach_state {
  std::string input_collection;
  std::optional<std::string> output_collection;
  std::optional<std::string> iteration_param;
  std::optional<int> batch_size;
  std::vector<action> actions;
  action_mode mode = action_mode::parallel;
};

struct callback_state {
  dsl::action action;
  std::string event_ref;
  std::optional<dsl::event_data_filter> event_data_filter;
};

/// The order of this enum is the order of `state::properties`' alternatives.
enum class state_type { sleep, event, operation, parallel, switch_, inject, foreach, callback };

struct state {
  std::optional<std::string> id;
  std::string name;
  std::optional<dsl::state_data_filter> state_data_filter;
  dsl::timeouts timeouts;
  std::vector<on_error> on_errors;
  /// `transition` or `end`; absent for switch states (their conditions
  /// decide) and for compensation states that may omit both.
  std::optional<dsl::flow> flow;
  std::optional<std::string> compensated_by;
  bool used_for_compensation = false;
  dsl::metadata metadata;
  std::variant<sleep_state, event_state, operation_state, parallel_state,
               switch_state, inject_state, foreach_state, callback_state>
    properties;

  state_type type() const { return static_cast<state_type>(properties.index()); }
};

/// Where each part of a definition was written: definition path
/// (`states[1].actions[0]`) to file position.
class source_map {
public:
  void add(std::string path, source_position pos) {
    positions_.emplace(std::move(path), pos);
  }

  /// The position of `path`, or of its nearest enclosing part that has one.
  source_position find(std::string_view path) const;

  /// Whether `path` itself was written in the document.
  bool contains(const std::string& path) const { return positions_.count(path) > 0; }

private:
  std::unordered_map<std::string, source_position> positions_;
};

struct workflow {
  std::optional<std::string> id;
  std::optional<std::string> key;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> version;
  std::string spec_version;
  std::vector<std::string> annotations;
  std::optional<dsl::data_input_schema> data_input_schema;
  json constants = json::object();
  std::vector<std::string> secrets;
  dsl::start_def start;
  /// `expressionLang`. Of the expression languages, meshflow evaluates jq
  /// (1.6) only; expressions in any other are never compiled.
  std::string expression_lang = "jq";
  dsl::timeouts timeouts;
  std::vector<error_def> errors;
  bool keep_active = false;
  dsl::metadata metadata;
  std::vector<event_def> events;
  std::vector<function_def> functions;
  bool auto_retries = false;
  std::vector<retry_def> retries;
  std::vector<auth_def> auth;
  std::vector<state> states;

  /// True when `functions`, `events`, ... named a document that could not be
  /// read (a remote URI, a missing file): references into it are unchecked.
  bool definitions_unresolved = false;

  /// The file the definition was read from (empty for text).
  std::filesystem::path file;
  dsl::source_map source_map;

  /// `id`, or `key` when the definition has no id.
  const std::string& identity() const { return id ? *id : *key; }

  /// Whether meshflow can evaluate the definition's expressions.
  bool expressions_are_jq() const { return expression_lang == "jq"; }
};

std::string_view to_string(state_type t);
std::string_view to_string(function_type t);

/// Why meshflow cannot bind functions of type `t`, or nothing when it can
/// (`rest`, `expression`, `custom`): the one list of the function types a
/// deploy refuses, which `check_references` reports.
std::optional<std::string> unsupported_function_type(function_type t);

} // namespace meshflow::dsl
