// `meshflow node [--brokers LIST] [--cluster NAME] [--name NAME]
//                [--listen HOST:PORT] [--partitions N] [--deploy FILE]...`
//
// A node: its actors (actors/node.hpp) on the Kafka cluster at `--brokers`,
// or without it on the embedded default (a mock cluster in this process,
// whose address it prints so that services can connect; nothing is
// durable, and the node says so). The admin actor is published on
// `--listen` through CAF's middleman, for the client commands
// (client.cpp). It runs until SIGINT or SIGTERM.

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
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::cli {

namespace {

struct node_args {
  std::string listen;
  std::string host = "127.0.0.1";
  std::uint16_t port = default_node_port;
  std::string brokers;
  std::string cluster = "meshflow";
  std::string name;
  std::int32_t partitions = transport::engine_topic_settings{}.partitions;
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
  options.brokers = a.brokers;
  options.topics.cluster = a.cluster;
  options.topics.partitions = a.partitions;
  options.name = a.name;
  std::string host = a.host;
  std::uint16_t port = a.port;
  if (!a.listen.empty()) {
    auto colon = a.listen.rfind(':');
    unsigned long parsed = 0;
    auto digits = colon == std::string::npos ? std::string{} : a.listen.substr(colon + 1);
    if (colon == 0 || digits.empty() || digits.size() > 5
        || digits.find_first_not_of("0123456789") != std::string::npos
        || (parsed = std::stoul(digits)) > 65535) {
      std::cerr << fmt::format("meshflow node: --listen {}: expected HOST:PORT (PORT 0 picks a "
                               "free one)\n",
                               a.listen);
      return exit_usage;
    }
    host = a.listen.substr(0, colon);
    port = static_cast<std::uint16_t>(parsed);
  }
  options.event_listener = sys.spawn(event_printer, a.quiet);
  auto running = actors::start_node(sys, options);
  if (!running) {
    caf::anon_send_exit(options.event_listener, caf::exit_reason::user_shutdown);
    std::cerr << "meshflow node: " << running.error().message << '\n';
    return running.error().code == "arguments" ? exit_usage : exit_failed;
  }
  auto admin = running->admin;
  keep_until_exit(running->cluster);
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
  auto published = sys.middleman().publish(admin, port, host.c_str(), true);
  if (!published) {
    std::cerr << fmt::format("meshflow node: cannot listen on {}:{}: {}\n", host, port,
                             sys.render(published.error()));
    return stop(exit_failed);
  }
  if (running->embedded)
    std::cerr << fmt::format("meshflow node: listening on {}:{}, Kafka embedded at {} "
                             "(EMBEDDED: an in-process mock cluster, nothing is durable)\n",
                             host, *published, running->bootstrap_servers);
  else
    std::cerr << fmt::format("meshflow node: listening on {}:{}, Kafka at {}, cluster {}\n",
                             host, *published, running->bootstrap_servers, a.cluster);
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
  auto* cmd = app.add_subcommand("node", "Run a node (without --brokers: on an embedded mock "
                                          "Kafka)");
  cmd->add_option("--brokers", a->brokers,
                  "Kafka bootstrap servers HOST:PORT[,...] (default: an embedded mock "
                  "cluster, nothing durable)");
  cmd->add_option("--cluster", a->cluster,
                  "The cluster's name: prefixes its topics and consumer groups (default "
                  "meshflow)");
  cmd->add_option("--name", a->name, "This node's name (default HOST-PID)");
  cmd->add_option("--listen", a->listen,
                  fmt::format("HOST:PORT the admin listens on (default 127.0.0.1:{}; port 0 "
                              "picks a free one)",
                              default_node_port));
  cmd->add_option("--partitions", a->partitions,
                  "Partitions of the commands, instances and history topics, when this node "
                  "creates them (default 24)")
    ->check(CLI::Range(1, 10000));
  cmd->add_option("--host", a->host, "Alias: the HOST of --listen (default 127.0.0.1)");
  cmd->add_option("--port", a->port,
                  fmt::format("Alias: the PORT of --listen (default {})", default_node_port));
  cmd->add_option("--deploy", a->deploy, "Definitions to deploy before listening")
    ->allow_extra_args(false);
  cmd->add_flag("--quiet", a->quiet, "Do not print the events instances produce");
  a->engine.add_to(*cmd);
  cmd->callback([a, &opts] { opts.run = [a] { return serve(*a); }; });
}

} // namespace meshflow::cli
