// Reading an AsyncAPI 2.x document into a `service` (see asyncapi.hpp).
//
// dsl reads the text (its checks, its limits) into JSON with positions;
// `document_reader` walks the JSON by JSON pointers, follows `$ref`s with
// refs.cpp, and reports each finding at the position of the value it is
// about, with the value's path (`channels.store/order.subscribe`).

#include "meshflow/catalog/asyncapi.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "meshflow/catalog/reference.hpp"
#include "meshflow/catalog/topic.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/dsl/suggest.hpp"
#include "refs.hpp"
#include "render.hpp"

namespace meshflow::catalog {

std::string_view to_string(direction d) {
  return d == direction::produce ? "produce" : "consume";
}

std::vector<std::string> message::violations(const nlohmann::json& payload) const {
  if (!schema)
    return {};
  return schema->violations(payload);
}

std::vector<std::string> operation::violations(const nlohmann::json& payload) const {
  if (messages.empty())
    return {};
  std::vector<std::vector<std::string>> found;
  for (const auto& m : messages) {
    if (!m.schema)
      return {};  // the payload may be this message's: nothing to hold against it
    auto v = m.violations(payload);
    if (v.empty())
      return {};
    found.push_back(std::move(v));
  }
  if (found.size() == 1)
    return std::move(found.front());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < found.size(); ++i) {
    auto name = messages[i].name.empty() ? fmt::format("message {}", i + 1)
                                         : fmt::format("message '{}'", messages[i].name);
    for (const auto& v : found[i])
      out.push_back(fmt::format("{} (as {})", v, name));
  }
  return out;
}

const operation* service::find_operation(std::string_view operation_id) const {
  auto it = std::find_if(operations.begin(), operations.end(),
                         [&](const operation& o) { return o.id == operation_id; });
  return it == operations.end() ? nullptr : &*it;
}

namespace {

using detail::json;
using detail::pointer;

constexpr std::string_view supported_versions[] = {"2.0.0", "2.1.0", "2.2.0", "2.3.0",
                                                   "2.4.0", "2.5.0", "2.6.0"};

// The fixed fields of AsyncAPI 2.x's Channel Item and Operation objects:
// anything else (but `x-` extensions) is most likely a typo that loses an
// operation or a binding, so it is a warning with a suggestion.
const std::vector<std::string_view> channel_fields = {
  "$ref", "description", "servers", "subscribe", "publish", "parameters", "bindings"};
const std::vector<std::string_view> operation_fields = {
  "operationId", "summary", "description", "security", "tags",
  "externalDocs", "bindings", "traits", "message"};

constexpr std::string_view no_payload_check =
  "the message has no payload schema, so its payloads are not checked";

/// Whether a message's `schemaFormat` is JSON Schema: AsyncAPI's own
/// format (the default) or JSON Schema draft 7.
bool json_schema_format(std::string_view format) {
  return format.starts_with("application/vnd.aai.asyncapi")
         || format.starts_with("application/schema+json;version=draft-07")
         || format.starts_with("application/schema+yaml;version=draft-07");
}

/// The last part of a `$ref` (`#/components/NewOrder` -> `NewOrder`).
std::string ref_name(const std::string& ref) {
  if (auto p = detail::local_pointer(ref); p && !p->empty())
    return p->back();
  auto cut = ref.find_last_of("/#");
  return cut == std::string::npos ? ref : ref.substr(cut + 1);
}

class document_reader {
public:
  document_reader(const json& doc, const dsl::document_positions& positions, std::string file,
                  std::vector<dsl::diagnostic>& out, std::size_t max_nodes)
    : doc_(doc), positions_(positions), file_(std::move(file)), out_(out),
      budget_(max_nodes), max_nodes_(max_nodes) {
  }

  std::optional<service> read() {
    pointer root;
    if (!doc_.is_object()) {
      error(root, fmt::format("an AsyncAPI document is an object, not {}",
                              detail::kind_of(doc_)));
      return std::nullopt;
    }
    service s;
    if (!read_version(s))
      return std::nullopt;
    if (get(root / "id")) {
      s.document_id = string_member(root, "id");
      if (s.document_id && s.document_id->empty()) {
        error(root / "id", "'id' must not be empty");
        s.document_id.reset();
      }
    }
    default_content_type_ = string_member(root, "defaultContentType");
    read_info(s);
    read_servers(s);
    read_components(s);
    read_channels(s);
    s.id = s.document_id ? *s.document_id : s.title;
    if (errors_ > 0)
      return std::nullopt;
    return s;
  }

private:
  // --- findings -------------------------------------------------------------

  void report(dsl::severity severity, const pointer& at, std::string message) {
    dsl::diagnostic d{file_, positions_.find(at), severity, detail::display_path(doc_, at),
                      std::move(message)};
    // One mistake once: a broken schema two messages share, a ref cycle
    // two operations reach.
    if (!reported_.insert(fmt::format("{}:{}:{}\n{}\n{}", d.position.line, d.position.column,
                                      static_cast<int>(severity), d.path, d.message))
           .second)
      return;
    if (severity == dsl::severity::error)
      ++errors_;
    out_.push_back(std::move(d));
  }
  void error(const pointer& at, std::string message) {
    report(dsl::severity::error, at, std::move(message));
  }
  void warning(const pointer& at, std::string message) {
    report(dsl::severity::warning, at, std::move(message));
  }
  void report(const schema_problem& p) { report(p.severity, p.at, p.message); }

  // --- reading values -------------------------------------------------------

  const json* get(const pointer& at) const { return detail::find(doc_, at); }

  // --- refs and schemas, within the document's budget ---------------------------

  /// Follows the `$ref`s from `at` (`detail::follow`) and reports why they
  /// end nowhere; `target` is empty then, and once the budget is spent.
  detail::followed follow(const pointer& at, std::string_view consequence) {
    if (spent_)
      return {};
    auto f = detail::follow(doc_, at, consequence);
    spend(f.steps, at);
    if (f.problem) {
      report(*f.problem);
      f.target.reset();
    }
    return f;
  }

  /// The payload schema at `target` compiled, once per schema however many
  /// messages share it.
  std::optional<payload_schema> compile(const pointer& target) {
    auto key = target.to_string();
    if (auto it = schemas_.find(key); it != schemas_.end())
      return it->second;
    if (spent_)
      return std::nullopt;
    auto budget = budget_;
    auto compiled = payload_schema::compile(doc_, target, budget);
    spend(compiled.nodes, target);
    if (compiled.nodes > budget)
      return std::nullopt;  // said once, for the document
    for (const auto& p : compiled.problems)
      report(p);
    schemas_.emplace(key, compiled.schema);
    return compiled.schema;
  }

  /// Counts work that refs can multiply (following them, copying the
  /// schemas they name): a document gets as much as it has nodes to read
  /// (`load_options::max_nodes`), however its refs point at each other.
  void spend(std::size_t work, const pointer& at) {
    if (work < budget_) {
      budget_ -= work;
      return;
    }
    budget_ = 0;
    if (!spent_)
      error(at, fmt::format("the document's $refs lead to more than {} values; reading "
                            "stopped here",
                            max_nodes_));
    spent_ = true;
  }

  /// The string member `key` of the object at `at`; reports a member of
  /// another type, and a missing one when `required`.
  std::optional<std::string> string_member(const pointer& at, const std::string& key,
                                           std::string_view required = {}) {
    const json* v = get(at / key);
    if (!v) {
      if (!required.empty())
        error(at, fmt::format("missing required property '{}' ({})", key, required));
      return std::nullopt;
    }
    if (!v->is_string()) {
      error(at / key, fmt::format("'{}' must be a string, not {}", key, detail::kind_of(*v)));
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  bool expect_object(const pointer& at, std::string_view what) {
    const json* v = get(at);
    if (v && v->is_object())
      return true;
    error(at, fmt::format("{} must be an object, not {}", what,
                          v ? detail::kind_of(*v) : "missing"));
    return false;
  }

  void unknown_members(const pointer& at, const std::vector<std::string_view>& known,
                       std::string_view what) {
    for (const auto& [key, value] : get(at)->items()) {
      if (key.starts_with("x-")
          || std::find(known.begin(), known.end(), key) != known.end())
        continue;
      auto message = fmt::format("unknown property '{}' in {} (ignored)", key, what);
      if (auto s = dsl::closest(key, known))
        message += fmt::format("; did you mean '{}'?", *s);
      warning(at / key, std::move(message));
    }
  }

  /// The keys of the object at `at`, in the order the document writes
  /// them (JSON objects keep no order; positions do).
  std::vector<std::string> keys_in_order(const pointer& at) const {
    std::vector<std::pair<std::tuple<int, int>, std::string>> keyed;
    for (const auto& [key, value] : get(at)->items()) {
      auto p = positions_.find(at / key);
      keyed.push_back({{p.line, p.column}, key});
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& k : keyed)
      out.push_back(std::move(k.second));
    return out;
  }

  // --- the document -----------------------------------------------------------

  bool read_version(service& s) {
    pointer root;
    auto at = root / "asyncapi";
    const json* v = get(at);
    if (!v) {
      error(root, "missing required property 'asyncapi' (the AsyncAPI version, such as "
                  "'asyncapi: 2.6.0'); is this an AsyncAPI document?");
      return true;  // read on: the rest may hold more findings
    }
    if (!v->is_string()) {
      error(at, fmt::format("'asyncapi' must be a version string such as '2.6.0', not {}",
                            detail::kind_of(*v)));
      return true;
    }
    s.asyncapi = v->get<std::string>();
    if (std::find(std::begin(supported_versions), std::end(supported_versions), s.asyncapi)
        == std::end(supported_versions)) {
      auto message = fmt::format("AsyncAPI {} is not supported; meshflow reads AsyncAPI "
                                 "2.0.0 to 2.6.0",
                                 s.asyncapi);
      if (s.asyncapi.starts_with("3."))
        message += " (AsyncAPI 3 moved operations out of channels; describe the service "
                   "in 2.6.0)";
      error(at, std::move(message));
      return false;  // another language: nothing else would be read right
    }
    return true;
  }

  void read_info(service& s) {
    pointer root;
    auto at = root / "info";
    if (!get(at)) {
      error(root, "missing required property 'info' (the title and version of the "
                  "service)");
      return;
    }
    if (!expect_object(at, "'info'"))
      return;
    s.title = string_member(at, "title", "the service's name").value_or("");
    const json* version = get(at / "version");
    if (!version) {
      error(at, "missing required property 'version' (the version of the service's API)");
    } else if (version->is_number()) {
      s.version = version->dump();
      warning(at / "version",
              fmt::format("'version' should be a string; read as '{}' (quote it)", s.version));
    } else {
      s.version = string_member(at, "version").value_or("");
    }
  }

  void read_servers(service& s) {
    auto at = pointer{} / "servers";
    if (!get(at) || !expect_object(at, "'servers'"))
      return;
    for (const auto& name : keys_in_order(at)) {
      auto f = follow(at / name, "the server is left out");
      if (!f.target)
        continue;
      auto t = *f.target;
      if (!expect_object(t, fmt::format("server '{}'", name)))
        continue;
      auto url = string_member(t, "url", "where the server is");
      auto protocol = string_member(t, "protocol", "such as 'kafka'");
      auto version = string_member(t, "protocolVersion");
      if (url && protocol)
        s.servers.push_back({name, *url, *protocol, version});
    }
  }

  void read_components(service& s) {
    auto at = pointer{} / "components";
    if (!get(at) || !expect_object(at, "'components'"))
      return;
    auto each = [&](const char* key, auto&& use) {
      auto map_at = at / key;
      if (!get(map_at) || !expect_object(map_at, fmt::format("'components.{}'", key)))
        return;
      for (const auto& name : keys_in_order(map_at))
        use(name, map_at / name);
    };
    each("messages", [&](const std::string& name, const pointer& p) {
      s.components.messages.emplace(name, read_message(p));
    });
    each("schemas", [&](const std::string& name, const pointer& p) {
      s.components.schemas.emplace(name, *get(p));
    });
    each("channelBindings", [&](const std::string& name, const pointer& p) {
      s.components.channel_bindings.emplace(name, *get(p));
    });
    each("operationBindings", [&](const std::string& name, const pointer& p) {
      s.components.operation_bindings.emplace(name, *get(p));
    });
    each("messageBindings", [&](const std::string& name, const pointer& p) {
      s.components.message_bindings.emplace(name, *get(p));
    });
  }

  void read_channels(service& s) {
    pointer root;
    auto at = root / "channels";
    if (!get(at)) {
      error(root, "missing required property 'channels' (what the service publishes and "
                  "subscribes to: workflows bind to the operations of its channels)");
      return;
    }
    if (!expect_object(at, "'channels'"))
      return;
    for (const auto& name : keys_in_order(at))
      read_channel(s, name, at / name);
  }

  void read_channel(service& s, const std::string& name, const pointer& at) {
    auto f = follow(at, "the channel and its operations are left out of the catalog");
    if (!f.target)
      return;
    auto t = *f.target;
    if (!expect_object(t, fmt::format("channel '{}'", name)))
      return;
    unknown_members(t, channel_fields, "a channel");
    channel c;
    c.name = name;
    if (auto kafka = kafka_binding(t / "bindings")) {
      c.kafka_binding = *get(*kafka);
      if (auto topic = string_member(*kafka, "topic")) {
        if (topic->empty())
          error(*kafka / "topic", "'topic' must not be empty");
        else
          c.topic = *topic;
      }
    }
    auto from_binding = !c.topic.empty();
    if (!from_binding)
      c.topic = topic_for_channel(name);
    if (auto problem = kafka_topic_problem(c.topic))
      warning(from_binding ? t / "bindings" : at,
              fmt::format("channel '{}' maps to the topic '{}', which Kafka refuses: {}; "
                          "workflows cannot bind to its operations until the channel has a "
                          "bindings.kafka.topic",
                          name, c.topic, *problem));
    for (const auto& kind : keys_in_order(t))
      if (kind == "publish" || kind == "subscribe")
        read_operation(s, c, t / kind, kind);
    s.channels.push_back(std::move(c));
  }

  void read_operation(service& s, channel& c, const pointer& at, const std::string& kind) {
    if (!expect_object(at, fmt::format("'{}' (an operation)", kind)))
      return;
    unknown_members(at, operation_fields, "an operation");
    operation op;
    op.direction = kind == "publish" ? direction::produce : direction::consume;
    op.channel = c.name;
    op.topic = c.topic;
    auto id_at = at / "operationId";
    const json* id = get(id_at);
    if (!id) {
      error(at, fmt::format("the operation has no 'operationId'; meshflow binds workflows to "
                            "operations by their operationId (file://{}#OPERATION_ID), so "
                            "every operation needs one",
                            document_base_name(file_)));
      return;
    }
    if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
      error(id_at, fmt::format("'operationId' must be a non-empty string, not {}",
                               id->is_string() ? "an empty one" : detail::kind_of(*id)));
      return;
    }
    op.id = id->get<std::string>();
    if (auto [first, fresh] = seen_ids_.emplace(op.id, id_at); !fresh) {
      error(id_at, fmt::format("duplicate operationId '{}': {} (line {}) has it too; "
                               "operationIds are unique in a document, since workflows "
                               "bind by them",
                               op.id, detail::display_path(doc_, first->second.parent_pointer()),
                               positions_.find(first->second).line));
      return;
    }
    op.path = detail::display_path(doc_, id_at);
    op.position = positions_.find(id_at);
    op.summary = string_member(at, "summary");
    if (get(at / "message"))
      op.messages = read_messages(at / "message");
    if (auto kafka = kafka_binding(at / "bindings"))
      op.kafka_binding = *get(*kafka);
    c.operations.push_back(op.id);
    s.operations.push_back(std::move(op));
  }

  // --- messages ---------------------------------------------------------------

  /// The message at `at`, or the messages of its `oneOf`.
  std::vector<message> read_messages(const pointer& at) {
    auto f = detail::follow(doc_, at, no_payload_check);  // reported by read_message
    if (f.target) {
      const json* v = get(*f.target);
      auto list_at = *f.target / "oneOf";
      if (v->is_object() && v->contains("oneOf")) {
        const json* list = get(list_at);
        if (!list->is_array()) {
          error(list_at, fmt::format("'oneOf' must be an array of messages, not {}",
                                     detail::kind_of(*list)));
          return {};
        }
        std::vector<message> out;
        for (std::size_t i = 0; i < list->size(); ++i)
          out.push_back(read_message(list_at / i));
        return out;
      }
    }
    return {read_message(at)};
  }

  message read_message(const pointer& at) {
    auto f = follow(at, no_payload_check);
    if (!f.target) {
      message m;
      m.name = ref_name(f.last_ref);
      m.content_type = default_content_type_;
      return m;
    }
    auto t = *f.target;
    auto key = t.to_string();
    if (auto it = messages_.find(key); it != messages_.end())
      return it->second;
    message m;
    if (expect_object(t, "a message"))
      read_message_at(t, m);
    messages_.emplace(key, m);
    return m;
  }

  void read_message_at(const pointer& t, message& m) {
    auto tokens = detail::tokens_of(t);
    if (auto name = string_member(t, "name"))
      m.name = *name;
    else if (tokens.size() == 3 && tokens[0] == "components" && tokens[1] == "messages")
      m.name = tokens[2];
    m.content_type = string_member(t, "contentType");
    if (!m.content_type)
      m.content_type = default_content_type_;
    auto format = string_member(t, "schemaFormat");
    if (get(t / "payload")) {
      auto pf = follow(t / "payload", no_payload_check);
      if (pf.target) {
        m.payload = *get(*pf.target);
        if (format && !json_schema_format(*format))
          warning(t / "schemaFormat",
                  fmt::format("the payload schema is in the format '{}', not JSON Schema; "
                              "meshflow does not check this message's payloads",
                              *format));
        else
          m.schema = compile(*pf.target);
      }
    }
    if (auto kafka = kafka_binding(t / "bindings")) {
      m.kafka_binding = *get(*kafka);
      if (get(*kafka / "key")) {
        auto kf = follow(*kafka / "key", "the Kafka key binding is ignored");
        if (kf.target)
          m.kafka_key = *get(*kf.target);
      }
    }
  }

  /// The `kafka` member of the bindings at `bindings_at` (refs followed),
  /// when there is one.
  std::optional<pointer> kafka_binding(const pointer& bindings_at) {
    if (!get(bindings_at))
      return std::nullopt;
    auto f = follow(bindings_at, "the bindings are ignored");
    if (!f.target || !expect_object(*f.target, "'bindings'"))
      return std::nullopt;
    auto kafka_at = *f.target / "kafka";
    if (!get(kafka_at))
      return std::nullopt;
    auto kf = follow(kafka_at, "the Kafka binding is ignored");
    if (!kf.target || !expect_object(*kf.target, "'bindings.kafka'"))
      return std::nullopt;
    return *kf.target;
  }

  const json& doc_;
  const dsl::document_positions& positions_;
  std::string file_;
  std::vector<dsl::diagnostic>& out_;
  int errors_ = 0;
  std::optional<std::string> default_content_type_;
  /// Messages by the pointer of their definition: one referred to by
  /// several operations is read (and its schema compiled) once.
  std::map<std::string, message> messages_;
  /// Where each operationId was first written.
  std::map<std::string, pointer> seen_ids_;
  /// Compiled payload schemas by the pointer of their definition.
  std::map<std::string, std::optional<payload_schema>> schemas_;
  std::set<std::string> reported_;
  std::size_t budget_;
  std::size_t max_nodes_;
  bool spent_ = false;
};

} // namespace

read_result read_asyncapi(std::string_view text, std::string name,
                          const dsl::load_options& options) {
  read_result out;
  auto located = dsl::parse_located_document(text, name, options);
  out.diagnostics = std::move(located.diagnostics);
  if (!located.value)
    return out;
  document_reader reader{*located.value, located.positions, name, out.diagnostics,
                         options.max_nodes};
  auto s = reader.read();
  if (!s || dsl::has_errors(out.diagnostics))
    return out;
  s->name = std::move(name);
  s->text = std::string{text};
  out.service = std::move(s);
  return out;
}

read_result read_asyncapi_file(const std::filesystem::path& file,
                               const dsl::load_options& options) {
  auto text = dsl::read_text(file, options.max_bytes);
  if (!text) {
    read_result out;
    out.diagnostics.push_back({file.string(), {}, dsl::severity::error, "",
                               text.error().message});
    return out;
  }
  return read_asyncapi(*text, file.string(), options);
}

namespace {

nlohmann::json message_json(const message& m) {
  auto out = nlohmann::json::object();
  out["name"] = m.name;
  out["contentType"] = m.content_type ? nlohmann::json(*m.content_type) : nlohmann::json();
  out["payload"] = m.payload ? *m.payload : nlohmann::json();
  out["checked"] = m.schema.has_value();
  out["key"] = m.kafka_key ? *m.kafka_key : nlohmann::json();
  return out;
}

} // namespace

nlohmann::json detail::operation_json(const operation& op) {
  auto messages = nlohmann::json::array();
  for (const auto& m : op.messages)
    messages.push_back(message_json(m));
  return {{"operationId", op.id},
          {"direction", to_string(op.direction)},
          {"channel", op.channel},
          {"topic", op.topic},
          {"summary", op.summary ? nlohmann::json(*op.summary) : nlohmann::json()},
          {"bindings", op.kafka_binding.is_null() ? nlohmann::json()
                                                  : nlohmann::json{{"kafka", op.kafka_binding}}},
          {"messages", std::move(messages)}};
}

nlohmann::json to_json(const service& s) {
  auto servers = nlohmann::json::array();
  for (const auto& sv : s.servers)
    servers.push_back({{"name", sv.name},
                       {"url", sv.url},
                       {"protocol", sv.protocol},
                       {"protocolVersion", sv.protocol_version ? nlohmann::json(*sv.protocol_version)
                                                               : nlohmann::json()}});
  auto channels = nlohmann::json::array();
  for (const auto& c : s.channels)
    channels.push_back({{"name", c.name}, {"topic", c.topic}, {"operations", c.operations}});
  auto operations = nlohmann::json::array();
  for (const auto& op : s.operations)
    operations.push_back(detail::operation_json(op));
  return {{"id", s.id},
          {"document", s.name},
          {"asyncapi", s.asyncapi},
          {"title", s.title},
          {"version", s.version},
          {"servers", std::move(servers)},
          {"channels", std::move(channels)},
          {"operations", std::move(operations)}};
}

} // namespace meshflow::catalog
