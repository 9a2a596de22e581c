#include "meshflow/actors/catalog_actor.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "meshflow/dsl/suggest.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/kafka_admin.hpp"
#include "meshflow/utf8.hpp"

namespace meshflow::actors {

namespace {

using json = nlohmann::json;

struct catalog_state {
  catalog_settings settings;
  /// Null without Kafka.
  std::shared_ptr<transport::kafka_producer> producer;
  catalog_snapshot current;
  std::vector<caf::actor> watchers;
  static inline const char* name = "meshflow.catalog";
};

using self_ptr = caf::stateful_actor<catalog_state>*;

std::string failure(std::string code, std::string message) {
  return error_json({std::move(code), std::move(message)});
}

/// The documents the catalog topic holds, in the order of their keys' first
/// records (step 1 of catalog_actor.hpp). Records that hold no document are
/// skipped with a warning.
expected<std::vector<catalog::document_source>> read_documents(const catalog_settings& s) {
  std::vector<std::string> order;
  std::map<std::string, catalog::document_source> by_key;
  auto read = transport::read_to_end(
    s.kafka, s.topic.name, 0,
    [&](const transport::kafka_record& r) {
      auto key = r.message.key.value_or("");
      if (!r.message.value) {
        by_key.erase(key);
        return;
      }
      auto value = json::parse(*r.message.value, nullptr, false);
      if (!value.is_object() || !value["path"].is_string() || !value["text"].is_string()) {
        MESHFLOW_LOG(warn, "catalog", "{}[{}]@{} (key '{}') is not a catalog record "
                     "{{\"path\", \"text\"}}: skipped",
                     r.topic, r.partition, r.offset, key);
        return;
      }
      if (!by_key.contains(key))
        order.push_back(key);
      by_key[key] = {value["path"].get<std::string>(), value["text"].get<std::string>()};
    },
    s.timeout);
  if (!read)
    return tl::unexpected(read.error());
  std::vector<catalog::document_source> out;
  for (const auto& key : order)
    if (auto it = by_key.find(key); it != by_key.end())
      out.push_back(std::move(it->second));
  return out;
}

/// The registered service as `register` answers it.
json registered_json(const catalog::service& s, bool replaced) {
  return {{"id", s.id},          {"document", s.name},
          {"title", s.title},    {"version", s.version},
          {"operations", s.operations.size()}, {"replaced", replaced}};
}

std::string register_document(self_ptr self, const std::string& path, const std::string& text) {
  // The answers are JSON: a name that is not text cannot be in them.
  if (!utf8::is_valid(path))
    return failure("document", "not registered: the document's name is not UTF-8 text");
  auto& st = self->state;
  auto next = std::make_shared<catalog::service_catalog>(*st.current);
  auto r = next->add(path, text);
  if (!r.registered) {
    std::string why;
    for (const auto& d : r.diagnostics)
      why += fmt::format("\n{}", dsl::to_string(d));
    return failure("document", fmt::format("{}: not registered, the document has errors:{}",
                                           path, why));
  }
  if (st.producer) {
    transport::kafka_message record{.key = *r.service_id,
                                    .value = json{{"path", path}, {"text", text}}.dump()};
    auto written = st.producer->produce_sync(st.settings.topic.name, record, st.settings.timeout);
    if (!written)
      return failure(written.error().code,
                     fmt::format("{}: not registered, the catalog topic '{}' did not take it: {}",
                                 path, st.settings.topic.name, written.error().message));
  }
  st.current = std::move(next);
  for (const auto& w : st.watchers)
    self->send(w, catalog_atom::value, st.current);
  auto warnings = json::array();
  for (const auto& d : r.diagnostics)
    warnings.push_back(dsl::to_string(d));
  MESHFLOW_LOG(info, "catalog", "registered service '{}' from {}{}", *r.service_id, path,
               r.replaced ? " (replacing its earlier document)" : "");
  return json{{"services", {registered_json(*st.current->find_service(*r.service_id), r.replaced)}},
              {"warnings", std::move(warnings)}}
    .dump();
}

/// The service `name` names: its id, else the file name of its document.
std::string show(const catalog::service_catalog& c, const std::string& name) {
  if (!utf8::is_valid(name))
    return failure("not-found", "no such service: the name is not UTF-8 text");
  if (auto s = c.find_service(name))
    return catalog::to_json(*s).dump();
  std::vector<std::shared_ptr<const catalog::service>> named;
  std::vector<std::string> ids;
  for (const auto& s : c.services()) {
    ids.push_back(s->id);
    if (catalog::document_base_name(s->name) == catalog::document_base_name(name))
      named.push_back(s);
  }
  if (named.size() == 1)
    return catalog::to_json(*named.front()).dump();
  if (named.size() > 1)
    return failure("conflict", fmt::format("{} services are registered from a document named "
                                           "'{}'; name one by its id",
                                           named.size(), catalog::document_base_name(name)));
  std::vector<std::string_view> candidates{ids.begin(), ids.end()};
  auto close = dsl::closest(name, candidates);
  return failure("not-found",
                 fmt::format("no service '{}' in the catalog{}", name,
                             close ? fmt::format("; did you mean '{}'?", *close)
                             : c.empty() ? std::string{" (it holds no documents)"}
                                         : std::string{}));
}

caf::behavior catalog_actor(self_ptr self, catalog_settings settings,
                            std::shared_ptr<transport::kafka_producer> producer,
                            catalog_snapshot loaded) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.producer = std::move(producer);
  st.current = std::move(loaded);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& w = self->state.watchers;
    w.erase(std::remove_if(w.begin(), w.end(),
                           [&](const caf::actor& a) { return a.address() == down.source; }),
            w.end());
  });
  return {
    [self](catalog_atom, register_atom, const std::string& path, const std::string& text) {
      return register_document(self, path, text);
    },
    [self](catalog_atom, list_atom) { return catalog::to_json(*self->state.current).dump(); },
    [self](catalog_atom, show_atom, const std::string& service) {
      return show(*self->state.current, service);
    },
    [self](catalog_atom, get_atom) { return self->state.current; },
    [self](catalog_atom, watch_atom) {
      auto watcher = caf::actor_cast<caf::actor>(self->current_sender());
      if (!watcher)
        return;
      self->monitor(watcher);
      self->state.watchers.push_back(watcher);
      self->send(watcher, catalog_atom::value, self->state.current);
    },
  };
}

} // namespace

expected<caf::actor> start_catalog(caf::actor_system& sys, catalog_settings settings) {
  std::shared_ptr<transport::kafka_producer> producer;
  std::vector<catalog::document_source> documents;
  if (!settings.kafka.empty()) {
    if (!settings.topic_made) {
      auto admin = transport::kafka_admin::create(settings.kafka);
      if (!admin)
        return tl::unexpected(admin.error());
      if (auto made = admin->ensure_topics({settings.topic}, settings.timeout); !made)
        return tl::unexpected(made.error());
    }
    if (!settings.empty) {
      auto read = read_documents(settings);
      if (!read)
        return tl::unexpected(read.error());
      documents = std::move(*read);
    }
    auto config = transport::engine_producer_config(settings.kafka["bootstrap.servers"]);
    for (const auto& [key, value] : settings.kafka)
      config[key] = value;
    auto made = transport::kafka_producer::create(config);
    if (!made)
      return tl::unexpected(made.error());
    producer = std::make_shared<transport::kafka_producer>(std::move(*made));
  }
  auto rebuilt = catalog::service_catalog::rebuild(documents);
  for (const auto& d : rebuilt.diagnostics)
    if (d.severity == dsl::severity::error)
      MESHFLOW_LOG(warn, "catalog", "a document of '{}' no longer reads, skipped: {}",
                   settings.topic.name, dsl::to_string(d));
  if (!rebuilt.catalog.empty())
    MESHFLOW_LOG(info, "catalog", "{} services from '{}'", rebuilt.catalog.size(),
                 settings.topic.name);
  auto loaded = std::make_shared<const catalog::service_catalog>(std::move(rebuilt.catalog));
  return sys.spawn<caf::detached>(catalog_actor, std::move(settings), std::move(producer),
                                  std::move(loaded));
}

} // namespace meshflow::actors
