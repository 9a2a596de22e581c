// `meshflow node [--host HOST] [--port PORT] [--deploy FILE]...`
//
// A node on the embedded default: the admin actor (actors/node.hpp)
// published on HOST:PORT through CAF's middleman, for the client commands
// (client.cpp). Without Kafka nothing is durable, and the node says so.
// It runs until SIGINT or SIGTERM.

#include <csignal>
#include <iostream>
#include <memory>

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "session.hpp"
#include "meshflow/actors/fault_injection.hpp"
#include "meshflow/actors/node.hpp"
#include "meshflow/log.hpp"

namespace meshflow::cli {

namespace {

struct node_args {
  std::string host = "127.0.0.1";
  std::uint16_t port = default_node_port;
  std::vector<std::string> deploy;
  bool quiet = false;
  engine_settings engine;
};

int serve(const node_args& a) {
  // Every thread CAF starts inherits this mask; only `sigwait` below sees
  // the signals that stop the node.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  log_to_stderr();
  if (auto faults = actors::fault_injection::armed(); !faults.empty())
    MESHFLOW_LOG(warn, "node", "test faults are armed (MESHFLOW_TEST_FAULTS={}): this node will "
                 "fail on purpose", faults);
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  actors::node_options options;
  if (auto set = a.engine.apply(options); !set) {
    std::cerr << "meshflow node: " << set.error().message << '\n';
    return exit_usage;
  }
  options.event_listener = sys.spawn(event_printer, a.quiet);
  auto started = actors::start_node(sys, options);
  if (!started) {
    std::cerr << "meshflow node: " << started.error().message << '\n';
    return exit_failed;
  }
  auto admin = started->admin;
  auto stop = [&](int code) {
    caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(options.event_listener, caf::exit_reason::user_shutdown);
    return code;
  };
  {
    admin_session node{sys, admin};
    for (const auto& file : a.deploy)
      if (auto r = node.deploy(file); auto f = failure_of(r)) {
        std::cerr << "meshflow node: " << (*f)["message"].get<std::string>() << '\n';
        return stop(exit_usage);
      }
  }
  auto port = sys.middleman().publish(admin, a.port, a.host.c_str(), true);
  if (!port) {
    std::cerr << fmt::format("meshflow node: cannot listen on {}:{}: {}\n", a.host, a.port,
                             sys.render(port.error()));
    return stop(exit_failed);
  }
  std::cerr << fmt::format(
    "meshflow node: listening on {}:{} (embedded: no Kafka, nothing is durable)\n", a.host,
    *port);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::cerr << fmt::format("meshflow node: stopping ({})\n", strsignal(signal));
  // Nothing here is durable: the node does not wait for instances to end.
  sys.await_actors_before_shutdown(false);
  return stop(exit_ok);
}

} // namespace

void add_node(CLI::App& app, options& opts) {
  auto a = std::make_shared<node_args>();
  auto* cmd = app.add_subcommand("node", "Run a node (embedded default: no Kafka)");
  cmd->add_option("--host", a->host, "The address the admin listens on (default 127.0.0.1)");
  cmd->add_option("--port", a->port,
                  fmt::format("The admin's port (default {}; 0 picks a free one)",
                              default_node_port));
  cmd->add_option("--deploy", a->deploy, "Definitions to deploy before listening")
    ->allow_extra_args(false);
  cmd->add_flag("--quiet", a->quiet, "Do not print the events instances produce");
  a->engine.add_to(*cmd);
  cmd->callback([a, &opts] { opts.run = [a] { return serve(*a); }; });
}

} // namespace meshflow::cli
