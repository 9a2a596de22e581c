// `meshflow run FILE [--input JSON|@PATH] [--deploy FILE]... [--event @PATH]...
//                    [--timeout DURATION]`
//
// One instance on an embedded node, exactly as SEMANTICS.md's command-line
// contract says: the workflow data output on stdout and exit 0 when the
// instance completes; exit 1 and a final JSON status line on stderr when it
// faults or is terminated; exit 2 when the definition, the input or the
// command line is invalid.

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "session.hpp"
#include "meshflow/actors/node.hpp"
#include "meshflow/dsl/duration.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::cli {

namespace {

using json = nlohmann::json;

struct run_args {
  std::string file;
  std::string input;
  std::vector<std::string> deploy;
  std::vector<std::string> events;
  std::string timeout = "PT5M";
  bool quiet = false;
  engine_settings engine;
};

int run(const run_args& a) {
  auto usage = [](const std::string& message) {
    std::cerr << "meshflow run: " << message << '\n';
    return exit_usage;
  };
  // The command line, the input and the events, before anything starts.
  auto timeout = dsl::parse_duration(a.timeout);
  if (!timeout)
    return usage(fmt::format("--timeout '{}': {}", a.timeout, timeout.error().message));
  auto inputs = read_inputs(a.input, a.engine.json());
  if (!inputs)
    return usage(fmt::format("--input: {}", inputs.error().message));
  if (inputs->size() != 1)
    return usage("--input: one JSON object (JSON Lines start many instances: `meshflow start`)");
  const auto& input = inputs->front();
  std::vector<std::string> events;
  for (const auto& arg : a.events) {
    auto text = inline_or_file(arg);
    if (!text)
      return usage(fmt::format("--event: {}", text.error().message));
    if (auto within = check_json(*text, a.engine.json(), fmt::format("--event {}", arg));
        !within)
      return usage(within.error().message);
    auto parsed = transport::json_format::parse_events(*text);
    if (!parsed)
      return usage(fmt::format("--event {}: {}", arg, parsed.error().message));
    for (const auto& e : *parsed)
      events.push_back(*transport::json_format::serialize(e));
  }

  log_to_stderr("warn");
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  actors::node_options options;
  if (auto set = a.engine.apply(options); !set)
    return usage(set.error().message);
  options.event_listener = sys.spawn(event_printer, a.quiet);
  auto started_node = actors::start_node(sys, options);
  if (!started_node) {
    std::cerr << "meshflow run: " << started_node.error().message << '\n';
    return exit_failed;
  }
  auto admin = started_node->admin;
  admin_session node{sys, admin};
  auto stop = [&](int code) {
    caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(options.event_listener, caf::exit_reason::user_shutdown);
    return code;
  };

  for (const auto& file : a.deploy)
    if (auto r = node.deploy(file); failure_of(r))
      return stop(usage((*failure_of(r))["message"].get<std::string>()));
  auto deployed = node.deploy(a.file);
  if (auto f = failure_of(deployed))
    return stop(usage((*f)["message"].get<std::string>()));
  const auto& w = deployed["workflows"][0];
  auto started = node.ask(caf::infinite, actors::start_atom::value, w["id"].get<std::string>(),
                          w["version"].get<std::string>(), input);
  if (auto f = failure_of(started))
    return stop(usage((*f)["message"].get<std::string>()));
  auto id = started["id"].get<std::string>();
  for (const auto& e : events)
    caf::anon_send(admin, actors::event_atom::value, e, id);

  auto outcome = node.ask(timeout->value, actors::wait_atom::value, id);
  if (failure_of(outcome)) {
    node.ask(caf::infinite, actors::cancel_atom::value, id);
    outcome = {{"status", "TERMINATED"},
               {"error",
                {{"code", "timeout"},
                 {"message", fmt::format("the run did not end within --timeout {}", a.timeout)},
                 {"state", ""}}}};
  }
  if (outcome.value("status", "") == "COMPLETED") {
    std::cout << outcome["data"].dump() << '\n';
    return stop(exit_ok);
  }
  json line{{"status", outcome.value("status", "FAULTED")}};
  line["error"] = outcome.contains("error")
                    ? outcome["error"]
                    : json{{"code", "unknown"}, {"message", "no error recorded"}, {"state", ""}};
  std::cerr << line.dump() << '\n';
  return stop(exit_failed);
}

} // namespace

void add_run(CLI::App& app, options& opts) {
  auto a = std::make_shared<run_args>();
  auto* cmd = app.add_subcommand("run", "Run one instance of a workflow on an embedded node");
  cmd->add_option("file", a->file, "The workflow definition (YAML or JSON)")->required();
  cmd->add_option("--input", a->input, "The workflow input: a JSON object, or @PATH");
  cmd->add_option("--deploy", a->deploy, "More definitions to deploy (subflows)")
    ->allow_extra_args(false);
  cmd->add_option("--event", a->events,
                  "@PATH of a CloudEvent (structured JSON) or a JSON array of them")
    ->allow_extra_args(false);
  cmd->add_option("--timeout", a->timeout, "Bound on the whole run (default PT5M)");
  cmd->add_flag("--quiet", a->quiet, "Do not print the events the instance produces");
  a->engine.add_to(*cmd);
  cmd->callback([a, &opts] { opts.run = [a] { return run(*a); }; });
}

} // namespace meshflow::cli
