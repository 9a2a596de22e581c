#include "meshflow/catalog/service_catalog.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "meshflow/catalog/errc.hpp"
#include "meshflow/catalog/topic.hpp"
#include "meshflow/dsl/suggest.hpp"
#include "render.hpp"

namespace meshflow::catalog {

namespace {

bound_operation bind(const service& s, const operation& op) {
  return bound_operation{"", s.id, s.name, op};
}

/// ", did you mean 'X'?" when one of the operations of `services` is close.
template <class Services>
std::string suggestion(std::string_view operation_id, const Services& services) {
  std::vector<std::string_view> ids;
  for (const auto& s : services)
    for (const auto& op : s->operations)
      ids.push_back(op.id);
  if (auto close = dsl::closest(operation_id, ids))
    return fmt::format("; did you mean '{}'?", *close);
  return {};
}

std::string listed(const std::vector<std::shared_ptr<const service>>& services) {
  std::string out;
  for (const auto& s : services)
    out += fmt::format("{}'{}' ({})", out.empty() ? "" : ", ", s->id, s->name);
  return out;
}

} // namespace

nlohmann::json to_json(const bound_operation& b) {
  auto out = detail::operation_json(b.operation);
  out["reference"] = b.reference;
  out["service"] = b.service_id;
  out["document"] = b.document;
  return out;
}

registration service_catalog::add(std::string name, std::string_view text,
                                  const dsl::load_options& options) {
  auto read = read_asyncapi(text, std::move(name), options);
  if (!read.service) {
    registration out;
    out.diagnostics = std::move(read.diagnostics);
    return out;
  }
  auto out = add(std::move(*read.service));
  read.diagnostics.insert(read.diagnostics.end(), out.diagnostics.begin(),
                          out.diagnostics.end());
  out.diagnostics = std::move(read.diagnostics);
  return out;
}

registration service_catalog::add(service s) {
  registration out;
  out.service_id = s.id;
  auto base = document_base_name(s.name);
  for (const auto& [id, other] : services_) {
    if (id == s.id)
      continue;
    for (const auto& op : s.operations)
      if (other->find_operation(op.id))
        out.diagnostics.push_back(
          {s.name, op.position, dsl::severity::warning, op.path,
           fmt::format("operationId '{}' is also defined by service '{}' ({}); a reference "
                       "to it must name its document, as in file://{}#{}",
                       op.id, other->id, other->name, base, op.id)});
    if (document_base_name(other->name) == base)
      out.diagnostics.push_back(
        {s.name, {1, 1}, dsl::severity::warning, "",
         fmt::format("service '{}' is registered from a document named '{}' too; a "
                     "reference to '{}' that both could answer fails as a conflict",
                     other->id, other->name, base)});
  }
  out.replaced = services_.contains(s.id);
  auto id = s.id;
  services_.insert_or_assign(std::move(id), std::make_shared<const service>(std::move(s)));
  out.registered = true;
  return out;
}

bool service_catalog::remove(std::string_view service_id) {
  auto it = services_.find(service_id);
  if (it == services_.end())
    return false;
  services_.erase(it);
  return true;
}

std::vector<std::shared_ptr<const service>> service_catalog::services() const {
  std::vector<std::shared_ptr<const service>> out;
  for (const auto& [id, s] : services_)
    out.push_back(s);
  return out;
}

std::shared_ptr<const service> service_catalog::find_service(std::string_view service_id) const {
  auto it = services_.find(service_id);
  return it == services_.end() ? nullptr : it->second;
}

expected<bound_operation> service_catalog::find_operation(std::string_view operation_id) const {
  std::vector<std::shared_ptr<const service>> hits;
  for (const auto& [id, s] : services_)
    if (s->find_operation(operation_id))
      hits.push_back(s);
  if (hits.empty()) {
    if (services_.empty())
      return fail(errc::not_found,
                  fmt::format("no operation '{}' in the catalog (it holds no documents)",
                              operation_id));
    return fail(errc::not_found, fmt::format("no operation '{}' in the catalog{}", operation_id,
                                             suggestion(operation_id, services())));
  }
  if (hits.size() > 1)
    return fail(errc::conflict,
                fmt::format("operationId '{}' is defined by {} services: {}; name the "
                            "document, as in file://{}#{}",
                            operation_id, hits.size(), listed(hits),
                            document_base_name(hits.front()->name), operation_id));
  return bind(*hits.front(), *hits.front()->find_operation(operation_id));
}

expected<bound_operation> service_catalog::find_operation(std::string_view document,
                                                          std::string_view operation_id) const {
  if (document.empty())
    return find_operation(operation_id);
  auto base = document_base_name(document);
  std::vector<std::shared_ptr<const service>> named, hits;
  for (const auto& [id, s] : services_)
    if (document_base_name(s->name) == base) {
      named.push_back(s);
      if (s->find_operation(operation_id))
        hits.push_back(s);
    }
  if (named.empty()) {
    // No document of that name: the operationId decides (SEMANTICS.md,
    // "Events": file:// names are looked up by the operation id first).
    auto found = find_operation(operation_id);
    if (!found && found.error().code == errc::not_found)
      found.error().message += fmt::format(" (and no document named '{}' is registered)", base);
    return found;
  }
  if (hits.empty()) {
    std::string which = named.size() == 1
                          ? fmt::format("service '{}'", named.front()->id)
                          : fmt::format("services {}", listed(named));
    return fail(errc::no_operation,
                fmt::format("no operation '{}' in {} ({}){}", operation_id, base, which,
                            suggestion(operation_id, named)));
  }
  if (hits.size() > 1)
    return fail(errc::conflict,
                fmt::format("{} registered documents named '{}' define operation '{}': {}; "
                            "remove one of them, or register one under another file name",
                            hits.size(), base, operation_id, listed(hits)));
  return bind(*hits.front(), *hits.front()->find_operation(operation_id));
}

expected<bound_operation> service_catalog::resolve(std::string_view reference) const {
  auto ref = parse_reference(reference);
  if (!ref)
    return tl::unexpected(std::move(ref.error()));
  auto found = find_operation(ref->document, ref->operation_id);
  if (!found) {
    found.error().message = fmt::format("'{}': {}", reference, found.error().message);
    return found;
  }
  if (auto problem = kafka_topic_problem(found->operation.topic))
    return fail(errc::topic,
                fmt::format("'{}': the channel '{}' of operation '{}' maps to the topic '{}', "
                            "which Kafka refuses: {}; give the channel a bindings.kafka.topic",
                            reference, found->operation.channel, found->operation.id,
                            found->operation.topic, *problem));
  found->reference = std::string{reference};
  return found;
}

std::vector<operation_conflict> service_catalog::conflicts() const {
  std::map<std::string, std::set<std::string>> defined;
  for (const auto& [id, s] : services_)
    for (const auto& op : s->operations)
      defined[op.id].insert(id);
  std::vector<operation_conflict> out;
  for (auto& [op, ids] : defined)
    if (ids.size() > 1)
      out.push_back({op, {ids.begin(), ids.end()}});
  return out;
}

std::vector<document_source> service_catalog::sources() const {
  std::vector<document_source> out;
  for (const auto& [id, s] : services_)
    out.push_back({s->name, s->text});
  return out;
}

service_catalog::rebuilt service_catalog::rebuild(const std::vector<document_source>& documents,
                                                  const dsl::load_options& options) {
  rebuilt out;
  for (const auto& d : documents) {
    auto r = out.catalog.add(d.name, d.text, options);
    out.diagnostics.insert(out.diagnostics.end(), r.diagnostics.begin(), r.diagnostics.end());
  }
  return out;
}

nlohmann::json to_json(const service_catalog& c) {
  auto out = nlohmann::json::array();
  for (const auto& s : c.services())
    out.push_back({{"id", s->id},
                   {"document", s->name},
                   {"title", s->title},
                   {"version", s->version},
                   {"operations", s->operations.size()}});
  return out;
}

} // namespace meshflow::catalog
