#include "meshflow/actors/node.hpp"

#include <cstdio>
#include <map>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/bus.hpp"
#include "meshflow/actors/catalog_actor.hpp"
#include "meshflow/actors/command.hpp"
#include "meshflow/actors/engine.hpp"
#include "meshflow/actors/partition.hpp"
#include "meshflow/actors/router.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/embedded_cluster.hpp"
#include "meshflow/transport/kafka_admin.hpp"

namespace meshflow::actors {

namespace {

using json = nlohmann::json;

/// Where a node's records live, as `start_node` found them.
struct node_link {
  transport::kafka_config kafka;
  transport::engine_topics topics;
  /// The embedded cluster, when there is one: kept alive by every actor
  /// that has Kafka clients.
  std::shared_ptr<const void> cluster;
  /// What the bus says of itself (`meshflow status`).
  std::shared_ptr<bus_health> health = std::make_shared<bus_health>();
  /// The cluster's name.
  std::string cluster_name;
  /// The definitions `<cluster>.definitions` holds: (path, text), in the
  /// order deployed.
  std::vector<std::pair<std::string, std::string>> definitions;
  /// And where the schedules stand, by workflow id: the record value's
  /// `schedule` object (schedule_record).
  std::map<std::string, json> schedules;
};

struct admin_state {
  node_options options;
  node_link link;
  caf::actor bus;
  deploy_settings deploy;
  deployments deployed = std::make_shared<deployment_set>();
  caf::actor engine;
  caf::actor router;
  std::vector<caf::actor> partitions;
  /// Scheduled workflows (start.schedule) by workflow id: the version
  /// deployed last starts on its schedule. `generation` tells a timer of a
  /// replaced deployment from the current one.
  struct scheduled {
    std::string version;
    start_schedule when;
    int started = 0;
    std::uint64_t generation = 0;
    /// When the version was deployed first, and when it last started an
    /// instance (0: never).
    epoch_ms deployed_at = 0;
    epoch_ms last = 0;
  };
  std::map<std::string, scheduled> schedules;
  std::uint64_t generations = 0;
  /// The catalog actor (catalog_actor.hpp), whose snapshots become
  /// `deploy.catalog`.
  caf::actor catalog;
  static inline const char* name = "meshflow.admin";
};

using self_ptr = caf::stateful_actor<admin_state>*;

std::string failure(std::string code, std::string message) {
  return error_json({std::move(code), std::move(message)});
}

deploy_settings deploy_settings_of(const node_options& o) {
  // The catalog comes with the admin (attach_catalog).
  return {o.natives, o.http,    o.http_timeout, o.document_timeout, o.max_concurrent_calls,
          o.json,    nullptr};
}

void dispatch(self_ptr self, command c) {
  self->send(self->state.engine, dispatch_atom::value, std::vector<command>{std::move(c)});
}

const caf::actor& owner(self_ptr self, const std::string& id) {
  auto& p = self->state.partitions;
  return p[partition_of(id, static_cast<std::uint32_t>(p.size()))];
}

/// A deployer: prepares one deploy on a thread of its own, so that a
/// document server that never answers holds that deploy only, not the
/// admin nor the other deploys.
caf::behavior deployer(caf::event_based_actor* self, deploy_settings settings) {
  return {
    [self, settings](deploy_atom, const std::string& path, const std::string& text) {
      self->quit();
      return prepare_deployment(settings, path, text);
    },
  };
}

// --- the AsyncAPI catalog ----------------------------------------------------
// The admin starts the catalog actor and watches it: each deploy reads the
// snapshot current when it begins (`deploy_settings::catalog`); catalog
// requests go to the catalog actor; documents a deploy found beside its
// workflow are registered once it is installed.

/// Takes the node's catalog (started by `start_node`) and its snapshot at
/// the start, and watches it for the next ones.
void attach_catalog(self_ptr self, caf::actor catalog, catalog_snapshot current) {
  auto& st = self->state;
  st.catalog = std::move(catalog);
  st.deploy.catalog = std::move(current);
  self->send(st.catalog, catalog_atom::value, watch_atom::value);
}

/// A catalog request, answered by the catalog actor through the admin (not
/// delegated: an actor that answers a remote client stays in CAF's registry
/// until the actor system ends, and a detached one then never ends).
template <class... Ts>
caf::result<std::string> ask_catalog(self_ptr self, Ts&&... xs) {
  auto answer = self->make_response_promise<std::string>();
  self->request(self->state.catalog, caf::infinite, catalog_atom::value, std::forward<Ts>(xs)...)
    .then([answer](std::string& r) mutable { answer.deliver(std::move(r)); },
          [self, answer](caf::error& e) mutable {
            answer.deliver(failure("catalog", fmt::format("the node's catalog failed: {}",
                                                          self->system().render(e))));
          });
  return answer;
}

/// Registers the documents that deploying `workflow` read from beside it,
/// with a notice each.
void register_found(self_ptr self, const std::string& workflow,
                    const std::vector<catalog::document_source>& found) {
  for (const auto& d : found) {
    if (!self->state.catalog)
      return;
    self->request(self->state.catalog, caf::infinite, catalog_atom::value, register_atom::value,
                  d.name, d.text)
      .then([workflow, name = d.name](const std::string& answer) {
        auto j = json::parse(answer, nullptr, false);
        if (j.contains("error"))
          MESHFLOW_LOG(warn, "admin", "{}, which workflow '{}' uses, is not in the catalog: {}",
                       name, workflow, j["error"].value("message", answer));
        else
          MESHFLOW_LOG(info, "admin", "registered {} in the catalog: workflow '{}' names it "
                       "and the catalog did not have it",
                       name, workflow);
      });
  }
}

/// The key of the record of `<cluster>.definitions` that says where the
/// schedule of a workflow stands: its id and this.
constexpr std::string_view schedule_suffix = "#schedule";

std::string schedule_key(const std::string& workflow) {
  return workflow + std::string{schedule_suffix};
}

/// That record: `{"schedule": {"version", "deployedAt", "started", "last"}}`.
std::pair<std::string, std::string> schedule_record(const std::string& workflow,
                                                    const admin_state::scheduled& s) {
  return {schedule_key(workflow),
          json{{"schedule",
                {{"version", s.version},
                 {"deployedAt", s.deployed_at},
                 {"started", s.started},
                 {"last", s.last}}}}
            .dump()};
}

/// Where the schedule of a reloaded version stood, from its record (the
/// `schedule` object of schedule_record), into `s`; false when the record
/// is of another version or unreadable (the schedule starts anew).
bool resume_schedule(const json& r, admin_state::scheduled& s) {
  auto number = [&r](const char* key) { return r.contains(key) && r[key].is_number_integer(); };
  if (!r.contains("version") || r["version"] != s.version || !number("deployedAt") ||
      !number("started") || !number("last"))
    return false;
  s.deployed_at = r["deployedAt"].get<epoch_ms>();
  s.started = r["started"].get<int>();
  s.last = r["last"].get<epoch_ms>();
  return true;
}

/// Arms the timer of the next scheduled start of `workflow`, if any: the
/// first after its last start (or its deploy); one that is due already
/// (the node was down) fires at once.
void arm_schedule(self_ptr self, const std::string& workflow) {
  auto& s = self->state.schedules.at(workflow);
  auto now = now_ms();
  auto next = s.when.next_after(s.last ? s.last : s.deployed_at, s.started);
  if (!next) {
    self->state.schedules.erase(workflow);
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds{std::max<epoch_ms>(0, *next - now)},
                     schedule_atom::value, workflow, s.generation);
}

/// Installs a prepared deployment and hands the node's new versions to the
/// actors that run instances; a new deploy (not one the node reloads)
/// goes to `<cluster>.definitions`. The answer to the deploy.
std::string deployed(self_ptr self, prepared_deployment& p, const std::string& path,
                     const std::string& text, bool reloaded) {
  if (p.failure)
    return failure(p.failure->code, p.failure->message);
  auto& st = self->state;
  auto dep = install(self->system(), st.deploy, p);
  auto [next, replaced] = st.deployed->with(dep);
  if (replaced)
    for (const auto& b : replaced->bindings)
      self->send_exit(b, caf::exit_reason::user_shutdown);
  st.deployed = std::move(next);
  register_found(self, dep->plan->definition->identity(), p.found_documents);
  for (const auto& part : st.partitions)
    self->send(part, deployed_atom::value, st.deployed);
  self->send(st.router, deployed_atom::value, st.deployed);
  const auto& w = *dep->plan->definition;
  auto version = w.version.value_or("");
  st.schedules.erase(w.identity());
  bus_writes record;
  if (!reloaded)
    record.definitions.emplace_back(fmt::format("{}@{}", w.identity(), version),
                                    json{{"path", path}, {"text", text}}.dump());
  if (dep->schedule) {
    admin_state::scheduled s{version, *dep->schedule, 0, ++st.generations, now_ms(), 0};
    auto stored = st.link.schedules.find(w.identity());
    if (reloaded && stored != st.link.schedules.end() && !resume_schedule(stored->second, s))
      MESHFLOW_LOG(warn, "node", "the schedule record of {} is not of version '{}' or not "
                   "readable: its schedule starts anew",
                   w.identity(), version);
    s.when.deployed_at(s.deployed_at);
    if (!reloaded)
      record.definitions.push_back(schedule_record(w.identity(), s));
    st.schedules[w.identity()] = std::move(s);
    arm_schedule(self, w.identity());
  }
  if (!reloaded)
    self->send(st.bus, write_atom::value, std::move(record));
  return json{{"workflows", {{{"id", w.identity()}, {"version", version}}}}}.dump();
}

/// A start command for `workflow` with `input`, checked as a start request
/// is: the error says why it cannot start.
expected<command> start_of(self_ptr self, const std::string& workflow, const std::string& version,
                           const std::string& input) {
  auto dep = self->state.deployed->find(workflow, version);
  if (!dep)
    return fail("not-found", version.empty()
                               ? fmt::format("no workflow '{}' is deployed", workflow)
                               : fmt::format("workflow '{}' version '{}' is not deployed",
                                             workflow, version));
  if (auto within = check_json(input, self->state.options.json, "the input"); !within)
    return tl::unexpected(within.error());
  auto parsed = json::parse(input.empty() ? "{}" : input, nullptr, false);
  if (parsed.is_discarded())
    return fail("input", "the input is not JSON");
  if (!parsed.is_object())
    return fail("input", fmt::format("the input must be a JSON object, not {}",
                                     parsed.type_name()));
  start_command s;
  if (dep->input)
    if (auto wrong = dep->input->violations(parsed); !wrong.empty()) {
      auto what = fmt::format("the input does not satisfy the dataInputSchema: {}",
                              fmt::join(wrong, "; "));
      if (dep->input->refuses_invalid())
        return fail("input", what);
      s.input_invalid = std::move(what);
    }
  s.workflow_id = workflow;
  s.version = dep->plan->definition->version.value_or("");
  s.input = parsed.dump();
  return command{new_instance_id(), {}, std::move(s)};
}

/// A command about an existing instance, answered by its partition once
/// applied.
template <class Command>
caf::result<std::string> ask_owner(self_ptr self, const std::string& id, Command what) {
  auto request = new_instance_id();
  self->delegate(owner(self, id), await_atom::value, request);
  dispatch(self, command{id, request, std::move(what)});
  return caf::delegated<std::string>{};
}

caf::behavior admin(self_ptr self, node_options options, node_link link, caf::actor bus,
                    caf::actor engine, caf::actor router, caf::actor catalog,
                    catalog_snapshot services) {
  auto& st = self->state;
  st.options = std::move(options);
  st.link = std::move(link);
  st.deploy = deploy_settings_of(st.options);
  st.bus = std::move(bus);
  st.engine = std::move(engine);
  st.router = std::move(router);
  auto p = static_cast<std::uint32_t>(st.link.topics.commands.partitions);
  for (std::uint32_t i = 0; i < p; ++i)
    st.partitions.push_back(spawn_partition(
      self->system(), {i, st.deployed, st.options.limits, st.engine, st.router, st.bus,
                       std::max<std::size_t>(1, st.options.keep_ended / p),
                       st.options.retention}));
  self->send(st.engine, attach_atom::value, st.partitions, st.bus);
  self->send(st.router, attach_atom::value, st.partitions, st.bus);
  attach_catalog(self, std::move(catalog), std::move(services));
  // The definitions deployed before, in their order, before any request.
  for (auto& [path, text] : std::exchange(st.link.definitions, {})) {
    auto prepared = prepare_deployment(st.deploy, path, text);
    auto answer = json::parse(deployed(self, *prepared, path, text, true), nullptr, false);
    if (answer.contains("error"))
      MESHFLOW_LOG(warn, "node", "the definition {} deployed before cannot be deployed again: {}",
                   path, answer["error"].value("message", ""));
  }
  // Then the commands: a restored instance needs its version.
  self->send(st.bus, attach_atom::value);
  // Told to stop: the node's actors and the function bindings stop with the
  // admin.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    for (const auto& p : st.partitions)
      self->send_exit(p, msg.reason);
    self->send_exit(st.router, msg.reason);
    self->send_exit(st.engine, msg.reason);
    self->send_exit(st.bus, msg.reason);
    if (st.catalog)
      self->send_exit(st.catalog, msg.reason);
    for (const auto& dep : st.deployed->all())
      for (const auto& b : dep->bindings)
        self->send_exit(b, msg.reason);
    self->quit(msg.reason);
  });
  return {
    // Each deploy is prepared by a deployer of its own; the admin serves on
    // meanwhile, and installs each when it is ready.
    [self](deploy_atom, const std::string& path,
           const std::string& text) -> caf::result<std::string> {
      auto answer = self->make_response_promise<std::string>();
      auto worker = self->spawn<caf::detached>(deployer, self->state.deploy);
      self->request(worker, caf::infinite, deploy_atom::value, path, text)
        .then(
          [self, answer, path, text](std::shared_ptr<prepared_deployment>& p) mutable {
            // Answered once the node reads the channels the version
            // consumes from: an event published after the deploy returns
            // is not missed.
            auto done = deployed(self, *p, path, text, false);
            self->request(self->state.router, caf::infinite, listening_atom::value)
              .then([answer, done](bool) mutable { answer.deliver(done); },
                    [answer, done](caf::error&) mutable { answer.deliver(done); });
          },
          [self, answer](caf::error& e) mutable {
            answer.deliver(failure("definition", fmt::format("the deploy failed: {}",
                                                             self->system().render(e))));
          });
      return answer;
    },
    // Answered once the instance exists (its start is applied), so that
    // whatever the client asks next finds it.
    [self](start_atom, const std::string& workflow, const std::string& version,
           const std::string& input) -> caf::result<std::string> {
      auto c = start_of(self, workflow, version, input);
      if (!c)
        return failure(c.error().code, c.error().message);
      auto answer = self->make_response_promise<std::string>();
      auto id = c->instance_id;
      c->request_id = new_instance_id();
      self->request(owner(self, id), caf::infinite, await_atom::value, c->request_id)
        .then([answer, id](std::string& applied) mutable {
          auto j = json::parse(applied, nullptr, false);
          if (j.is_object() && j.contains("error") && j.size() == 1)
            answer.deliver(std::move(applied));
          else
            answer.deliver(json{{"id", id}}.dump());
        });
      dispatch(self, std::move(*c));
      return answer;
    },
    [self](get_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), get_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](history_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), history_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](wait_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), wait_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](pause_atom, const std::string& id) {
      return ask_owner(self, id, pause_command{});
    },
    [self](resume_atom, const std::string& id) {
      return ask_owner(self, id, resume_command{});
    },
    [self](cancel_atom, const std::string& id) {
      return ask_owner(self, id, cancel_command{"cancelled by an operator"});
    },
    [self](retry_atom, const std::string& id) { return ask_owner(self, id, retry_command{}); },
    [self](list_atom, const std::string& workflow,
           const std::string& status) -> caf::result<std::string> {
      // Every partition's instances, merged in partition order.
      auto answer = self->make_response_promise<std::string>();
      auto& parts = self->state.partitions;
      auto lists = std::make_shared<std::vector<std::string>>(parts.size());
      auto left = std::make_shared<std::size_t>(parts.size());
      for (std::size_t p = 0; p < parts.size(); ++p)
        self->request(parts[p], caf::infinite, list_atom::value, workflow, status)
          .then([answer, lists, left, p](std::string& l) mutable {
            (*lists)[p] = std::move(l);
            if (--*left > 0)
              return;
            auto all = json::array();
            for (const auto& text : *lists)
              for (auto& i : json::parse(text, nullptr, false))
                all.push_back(std::move(i));
            answer.deliver(all.dump());
          });
      return answer;
    },
    [self](event_atom, const std::string& text,
           const std::string& id) -> caf::result<std::string> {
      self->delegate(self->state.router, event_atom::value, text, id);
      return caf::delegated<std::string>{};
    },
    [self](schedule_atom, const std::string& workflow, std::uint64_t generation) {
      auto& st = self->state;
      auto it = st.schedules.find(workflow);
      if (it == st.schedules.end() || it->second.generation != generation)
        return;  // redeployed since
      auto& s = it->second;
      ++s.started;
      s.last = now_ms();
      // The start and where the schedule stands now, in one transaction.
      bus_writes w;
      if (auto c = start_of(self, workflow, s.version, "{}"))
        w.commands.push_back(std::move(*c));
      w.definitions.push_back(schedule_record(workflow, s));
      self->send(st.bus, write_atom::value, std::move(w));
      arm_schedule(self, workflow);
    },
    [self](catalog_atom, register_atom, std::string& path, std::string& text) {
      return ask_catalog(self, register_atom::value, std::move(path), std::move(text));
    },
    [self](catalog_atom, list_atom) { return ask_catalog(self, list_atom::value); },
    [self](status_atom) -> std::string {
      auto& st = self->state;
      std::lock_guard guard{st.link.health->lock};
      return json{{"name", st.options.name},
                  {"cluster", st.link.cluster_name},
                  {"healthy", st.link.health->healthy},
                  {"problem", st.link.health->problem},
                  {"partitions", st.link.health->owned}}
        .dump();
    },
    [self](catalog_atom, show_atom, std::string& service) {
      return ask_catalog(self, show_atom::value, std::move(service));
    },
    [self](catalog_atom, catalog_snapshot& now) { self->state.deploy.catalog = std::move(now); },
  };
}

/// This host's name and the process id: a node's default name.
std::string default_node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0)
    std::snprintf(host, sizeof host, "node");
  return fmt::format("{}-{}", host, getpid());
}

/// The records of `<cluster>.definitions`: the last definition of each
/// key, in the order their keys were first deployed, and the last record of
/// each schedule, into `link`.
expected<void> read_definitions(node_link& link) {
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::string, std::string>> latest;
  auto committed = link.kafka;  // the bus writes them in its transactions
  committed["isolation.level"] = "read_committed";
  auto read = transport::read_to_end(
    committed, link.topics.definitions.name, 0,
    [&](const transport::kafka_record& r) {
      auto key = r.message.key.value_or("");
      auto j = json::parse(r.message.value.value_or(""), nullptr, false);
      if (j.is_object() && j.contains("schedule") && j["schedule"].is_object() &&
          key.ends_with(schedule_suffix)) {
        link.schedules[key.substr(0, key.size() - schedule_suffix.size())] = j["schedule"];
        return;
      }
      if (!j.is_object() || !j["path"].is_string() || !j["text"].is_string()) {
        MESHFLOW_LOG(warn, "node", "{}@{} is not a definition record; skipped",
                     link.topics.definitions.name, r.offset);
        return;
      }
      if (!latest.contains(key))
        order.push_back(key);
      latest[key] = {j["path"].get<std::string>(), j["text"].get<std::string>()};
    },
    std::chrono::seconds{30});
  if (!read)
    return tl::unexpected(read.error());
  for (const auto& key : order)
    link.definitions.push_back(std::move(latest[key]));
  return {};
}

} // namespace

expected<running_node> start_node(caf::actor_system& sys, node_options options) {
  // Made here, not in the admin's first message: the node's threads all
  // run once start_node returns.
  if (!options.http)
    options.http = std::make_shared<transport::http_client>();
  if (options.name.empty())
    options.name = default_node_name();
  node_link link;
  running_node node;
  if (options.brokers.empty()) {
    auto cluster = transport::embedded_cluster::start();
    if (!cluster)
      return tl::unexpected(cluster.error());
    node.embedded = true;
    node.bootstrap_servers = cluster->bootstrap_servers();
    link.cluster = std::make_shared<transport::embedded_cluster>(std::move(*cluster));
  } else {
    node.bootstrap_servers = options.brokers;
  }
  link.kafka = {{"bootstrap.servers", node.bootstrap_servers}, {"client.id", options.name}};
  auto topics = transport::engine_topics::of(options.topics);
  if (!topics)
    return tl::unexpected(topics.error());
  link.topics = std::move(*topics);
  {
    auto admin = transport::kafka_admin::create(link.kafka);
    if (!admin)
      return tl::unexpected(admin.error());
    if (auto made = admin->ensure_topics(link.topics.all(), std::chrono::seconds{30}); !made)
      return fail(made.error().code,
                  fmt::format("the cluster's topics on {}: {}", node.bootstrap_servers,
                              made.error().message));
  }
  // A new embedded cluster holds nothing yet.
  if (!node.embedded) {
    if (auto read = read_definitions(link); !read)
      return tl::unexpected(read.error());
  }
  auto engine = spawn_engine(sys, options.event_listener);
  auto router = spawn_router(sys, {std::make_shared<deployment_set>(), engine, options.json});
  link.cluster_name = options.topics.cluster;
  auto bus = spawn_bus(sys, {link.kafka, link.topics, engine, router, options.json, link.cluster,
                            options.name, options.commit_interval, link.health});
  if (!bus) {
    caf::anon_send_exit(engine, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    return tl::unexpected(bus.error());
  }
  // The catalog before the definitions that bind to it are deployed again.
  catalog_settings catalog_at{link.kafka, link.topics.catalog};
  catalog_at.topic_made = true;  // above, with the others
  catalog_at.empty = node.embedded;
  auto catalog = start_catalog(sys, std::move(catalog_at));
  if (!catalog) {
    for (const auto& a : {engine, router, *bus})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return fail(catalog.error().code, fmt::format("the node's catalog: {}",
                                                  catalog.error().message));
  }
  catalog_snapshot services;
  caf::scoped_actor asking{sys};
  asking->request(*catalog, caf::infinite, catalog_atom::value, get_atom::value)
    .receive([&](catalog_snapshot& s) { services = std::move(s); }, [](caf::error&) {});
  node.cluster = link.cluster;
  node.admin = sys.spawn(admin, std::move(options), std::move(link), std::move(*bus),
                         std::move(engine), std::move(router), std::move(*catalog),
                         std::move(services));
  return node;
}

} // namespace meshflow::actors
