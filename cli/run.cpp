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
#include "meshflow/actors/node.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/dsl/duration.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::cli {

namespace {

using json = nlohmann::json;

/// `JSON` as written, or the content of the file `@PATH`.
expected<std::string> inline_or_file(const std::string& arg) {
  if (!arg.starts_with('@'))
    return arg;
  return dsl::read_text(arg.substr(1));
}

/// Prints each event the instance produces on stderr.
caf::behavior event_printer(caf::event_based_actor*, bool quiet) {
  return {
    [quiet](actors::produced_atom, const std::string&, const std::string& event) {
      if (!quiet)
        std::cerr << "meshflow: produced " << event << '\n';
    },
  };
}

struct run_args {
  std::string file;
  std::string input;
  std::vector<std::string> deploy;
  std::vector<std::string> events;
  std::string timeout = "PT5M";
  bool quiet = false;
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
  std::string input = "{}";
  if (!a.input.empty()) {
    auto text = inline_or_file(a.input);
    if (!text)
      return usage(fmt::format("--input: {}", text.error().message));
    auto parsed = json::parse(*text, nullptr, false);
    if (parsed.is_discarded())
      return usage("--input: not JSON");
    if (!parsed.is_object())
      return usage(fmt::format("--input: the workflow input must be a JSON object, not {}",
                               parsed.type_name()));
    input = parsed.dump();
  }
  std::vector<std::string> events;
  for (const auto& arg : a.events) {
    auto text = inline_or_file(arg);
    if (!text)
      return usage(fmt::format("--event: {}", text.error().message));
    auto parsed = transport::json_format::parse_events(*text);
    if (!parsed)
      return usage(fmt::format("--event {}: {}", arg, parsed.error().message));
    for (const auto& e : *parsed)
      events.push_back(*transport::json_format::serialize(e));
  }

  caf::actor_system_config cfg;
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  actors::node_options options;
  options.event_listener = sys.spawn(event_printer, a.quiet);
  auto admin = actors::spawn_admin(sys, options);
  caf::scoped_actor self{sys};
  auto ask = [&](auto... xs) {
    std::string answer;
    self->request(admin, caf::infinite, xs...)
      .receive([&](std::string& r) { answer = std::move(r); },
               [&](caf::error& e) {
                 answer = json{{"error", {{"code", "node"}, {"message", sys.render(e)}}}}.dump();
               });
    return json::parse(answer);
  };
  auto stop = [&](int code) {
    self->send_exit(admin, caf::exit_reason::user_shutdown);
    self->send_exit(options.event_listener, caf::exit_reason::user_shutdown);
    return code;
  };

  json deployed;
  for (const auto& file : a.deploy) {
    auto r = ask(actors::deploy_atom::value, file);
    if (r.contains("error"))
      return stop(usage(r["error"]["message"].get<std::string>()));
  }
  deployed = ask(actors::deploy_atom::value, a.file);
  if (deployed.contains("error"))
    return stop(usage(deployed["error"]["message"].get<std::string>()));
  const auto& w = deployed["workflows"][0];
  auto started = ask(actors::start_atom::value, w["id"].get<std::string>(),
                     w["version"].get<std::string>(), input);
  if (started.contains("error"))
    return stop(usage(started["error"]["message"].get<std::string>()));
  auto id = started["id"].get<std::string>();
  for (const auto& e : events)
    self->send(admin, actors::event_atom::value, e, id);

  json outcome;
  self->request(admin, timeout->value, actors::wait_atom::value, id)
    .receive([&](std::string& r) { outcome = json::parse(r); },
             [&](caf::error&) {
               ask(actors::cancel_atom::value, id);
               outcome = {{"status", "TERMINATED"},
                          {"error",
                           {{"code", "timeout"},
                            {"message", fmt::format("the run did not end within --timeout {}",
                                                    a.timeout)},
                            {"state", ""}}}};
             });
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
  cmd->callback([a, &opts] { opts.run = [a] { return run(*a); }; });
}

} // namespace meshflow::cli
