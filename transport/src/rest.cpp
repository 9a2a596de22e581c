#include "meshflow/transport/rest.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace meshflow::transport {

namespace {

/// scheme://host[:port] and the path after it.
struct url_parts {
  std::string origin;
  std::string path;
};

expected<url_parts> split_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return fail("arguments", fmt::format("'{}' is not an absolute http(s) URL", url));
  auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return fail("arguments", fmt::format("'{}': only http and https are supported", url));
  auto path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos)
    return url_parts{std::string{url}, ""};
  std::string path{url.substr(path_start)};
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  return url_parts{std::string{url.substr(0, path_start)}, path};
}

std::string encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

const char* const methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

void add_parameters(const nlohmann::json& list, std::vector<rest_operation::parameter>& out) {
  if (!list.is_array())
    return;
  for (const auto& p : list) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
      continue;
    rest_operation::parameter param;
    param.name = p["name"].get<std::string>();
    auto in = p.value("in", std::string{"query"});
    if (in == "path")
      param.in = rest_operation::location::path;
    else if (in == "header")
      param.in = rest_operation::location::header;
    else if (in == "query")
      param.in = rest_operation::location::query;
    else
      continue;  // cookie parameters are not filled
    param.required = p.value("required", false) || param.in == rest_operation::location::path;
    // Operation-level parameters override path-level ones of the same name.
    std::erase_if(out, [&](const auto& q) { return q.name == param.name && q.in == param.in; });
    out.push_back(std::move(param));
  }
}

/// The body of a response, or the error its status means (SEMANTICS.md,
/// "Errors, retries, timeouts"); transfer errors pass as they are.
expected<std::string> body_of(const std::string& target, http_outcome outcome) {
  if (!outcome)
    return tl::unexpected(std::move(outcome.error()));
  if (outcome->status >= 400)
    return fail(std::to_string(outcome->status),
                fmt::format("{} answered {}: {}", target, outcome->status,
                            outcome->body.substr(0, 200)));
  return std::move(outcome->body);
}

} // namespace

expected<std::pair<std::string, std::string>> split_operation(std::string_view operation) {
  auto hash = operation.rfind('#');
  if (hash == std::string_view::npos || hash == 0 || hash + 1 == operation.size())
    return fail("arguments", fmt::format("'{}' is not URI#operationId", operation));
  return std::pair{std::string{operation.substr(0, hash)},
                   std::string{operation.substr(hash + 1)}};
}

expected<rest_operation> find_operation(const nlohmann::json& doc, std::string_view doc_uri,
                                        std::string_view operation_id) {
  if (!doc.is_object() || !doc.contains("paths") || !doc["paths"].is_object())
    return fail("arguments", fmt::format("'{}' is not an OpenAPI 3 document (no 'paths')",
                                         doc_uri));
  rest_operation op;
  bool found = false;
  for (const auto& [path, item] : doc["paths"].items()) {
    if (!item.is_object())
      continue;
    for (const char* method : methods) {
      if (!item.contains(method) || !item[method].is_object())
        continue;
      const auto& o = item[method];
      if (o.value("operationId", std::string{}) != operation_id)
        continue;
      if (found)
        return fail("arguments", fmt::format("operationId '{}' appears twice in '{}'",
                                             operation_id, doc_uri));
      found = true;
      op.operation_id = std::string{operation_id};
      op.method = method;
      std::transform(op.method.begin(), op.method.end(), op.method.begin(),
                     [](unsigned char c) { return std::toupper(c); });
      op.path = path;
      add_parameters(item.value("parameters", nlohmann::json::array()), op.parameters);
      add_parameters(o.value("parameters", nlohmann::json::array()), op.parameters);
    }
  }
  if (!found)
    return fail("arguments", fmt::format("no operation '{}' in '{}'", operation_id, doc_uri));

  std::string server = "/";
  if (doc.contains("servers") && doc["servers"].is_array() && !doc["servers"].empty()
      && doc["servers"][0].is_object() && doc["servers"][0].contains("url")
      && doc["servers"][0]["url"].is_string())
    server = doc["servers"][0]["url"].get<std::string>();
  if (server.find("://") == std::string::npos) {
    // Relative to the document's own URL.
    auto base = split_url(doc_uri);
    if (!base)
      return fail("arguments",
                  fmt::format("the server URL '{}' of '{}' is relative, and the document "
                              "has no http(s) URL to resolve it against",
                              server, doc_uri));
    std::string dir = base->path.substr(0, base->path.rfind('/') + 1);
    server = base->origin + (server.starts_with('/') ? server : dir + server);
  }
  auto parts = split_url(server);
  if (!parts)
    return tl::unexpected(parts.error());
  op.server = parts->origin;
  op.base_path = parts->path;
  return op;
}

expected<http_request> request_for(const rest_operation& op, const nlohmann::json& arguments,
                                   std::chrono::milliseconds timeout, const json_limits& limits) {
  if (!arguments.is_object() && !arguments.is_null())
    return fail("arguments", fmt::format("the arguments of '{}' must be an object, not {}",
                                         op.operation_id, arguments.type_name()));
  auto rest = arguments.is_object() ? arguments : nlohmann::json::object();
  http_request req;
  req.method = op.method;
  req.timeout = timeout;
  req.max_body_bytes = limits.max_bytes;
  std::string path = op.path;
  std::string query;
  for (const auto& p : op.parameters) {
    if (!rest.contains(p.name)) {
      if (p.in == rest_operation::location::path)
        return fail("arguments", fmt::format("'{}' needs the argument '{}' for its path",
                                             op.operation_id, p.name));
      continue;
    }
    auto value = text_of(rest[p.name]);
    switch (p.in) {
      case rest_operation::location::path: {
        auto placeholder = "{" + p.name + "}";
        for (auto at = path.find(placeholder); at != std::string::npos;
             at = path.find(placeholder))
          path.replace(at, placeholder.size(), encode(value));
        break;
      }
      case rest_operation::location::query:
        query += fmt::format("{}{}={}", query.empty() ? "?" : "&", encode(p.name), encode(value));
        break;
      case rest_operation::location::header: req.headers.emplace_back(p.name, value); break;
    }
    rest.erase(p.name);
  }
  req.url = op.server + op.base_path + path + query;
  if (!rest.empty()) {
    req.body = rest.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

expected<nlohmann::json> result_of(const std::string& target, http_outcome outcome,
                                   const json_limits& limits) {
  auto body = body_of(target, std::move(outcome));
  if (!body)
    return tl::unexpected(std::move(body.error()));
  if (body->empty())
    return nlohmann::json(nullptr);
  if (auto within = check_json(*body, limits, fmt::format("the response of {}", target));
      !within)
    return tl::unexpected(std::move(within.error()));
  auto parsed = nlohmann::json::parse(*body, nullptr, false);
  if (parsed.is_discarded())
    return nlohmann::json(std::move(*body));
  return parsed;
}

expected<nlohmann::json> call(http_client& http, const rest_operation& op,
                              const nlohmann::json& arguments, std::chrono::milliseconds timeout,
                              const json_limits& limits) {
  auto req = request_for(op, arguments, timeout, limits);
  if (!req)
    return tl::unexpected(std::move(req.error()));
  auto target = req->target();
  return result_of(target, http.perform(std::move(*req)), limits);
}

expected<std::string> fetch(http_client& http, const std::string& url,
                            std::chrono::milliseconds timeout, std::size_t max_bytes) {
  if (auto parts = split_url(url); !parts)
    return tl::unexpected(parts.error());
  http_request req;
  req.url = url;
  req.timeout = timeout;
  req.max_body_bytes = max_bytes;
  auto target = req.target();
  return body_of(target, http.perform(std::move(req)));
}

} // namespace meshflow::transport
