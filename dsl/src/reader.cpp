#include "reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace meshflow::dsl::detail {

std::string_view to_string(json_kind k) {
  switch (k) {
    case json_kind::null: return "null";
    case json_kind::boolean: return "a boolean";
    case json_kind::number: return "a number";
    case json_kind::string: return "a string";
    case json_kind::array: return "an array";
    case json_kind::object: return "an object";
  }
  return "?";
}

source_position position_of(const YAML::Node& n) {
  if (!n.IsDefined())
    return {};
  auto m = n.Mark();
  if (m.is_null())
    return {};
  return {m.line + 1, m.column + 1};
}

void read_context::report(severity s, const std::string& path,
                          source_position pos, std::string message) {
  if (s == severity::error)
    ++errors_;
  out_.push_back({file_, pos, s, path, std::move(message)});
}

void read_context::error(const std::string& path, const YAML::Node& at,
                         std::string message) {
  report(severity::error, path, position_of(at), std::move(message));
}

void read_context::warning(const std::string& path, const YAML::Node& at,
                           std::string message) {
  report(severity::warning, path, position_of(at), std::move(message));
}

void read_context::locate(const std::string& path, const YAML::Node& at) {
  positions_.add(path, position_of(at));
}

bool read_context::visit(const std::string& path, const YAML::Node& at) {
  if (exhausted_)
    return false;
  if (budget_ > 0) {
    --budget_;
    return true;
  }
  exhausted_ = true;
  error(path, at,
        "the document expands to too many nodes (a YAML alias bomb?); "
        "reading stopped here");
  return false;
}

namespace {

// YAML 1.2 core schema resolution of plain scalars.
bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool digit(char c) { return c >= '0' && c <= '9'; }
bool octal(char c) { return c >= '0' && c <= '7'; }
bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_yaml_int(std::string_view s) {
  if (s.starts_with("0o"))
    return all_of(s.substr(2), octal);
  if (s.starts_with("0x"))
    return all_of(s.substr(2), hex);
  if (s.starts_with('-') || s.starts_with('+'))
    s.remove_prefix(1);
  return all_of(s, digit);
}

bool is_yaml_float(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN")
    return true;
  if (s.starts_with('-') || s.starts_with('+'))
    s.remove_prefix(1);
  if (s == ".inf" || s == ".Inf" || s == ".INF")
    return true;
  // (\.[0-9]+ | [0-9]+(\.[0-9]*)?) ([eE][-+]?[0-9]+)?
  std::size_t i = 0;
  auto digits = [&] {
    auto start = i;
    while (i < s.size() && digit(s[i]))
      ++i;
    return i - start;
  };
  auto integral = digits();
  bool fraction = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits() > 0;
  }
  if (integral == 0 && !fraction)
    return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+'))
      ++i;
    if (digits() == 0)
      return false;
  }
  return i == s.size();
}

json_kind scalar_kind(const YAML::Node& n) {
  const auto& tag = n.Tag();
  if (tag == "!")
    return json_kind::string;  // quoted
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float")
    return json_kind::number;
  if (tag == "tag:yaml.org,2002:bool")
    return json_kind::boolean;
  if (tag == "tag:yaml.org,2002:null")
    return json_kind::null;
  if (tag != "?" && !tag.empty())
    return json_kind::string;
  const auto& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False"
      || s == "FALSE")
    return json_kind::boolean;
  if (is_yaml_int(s) || is_yaml_float(s))
    return json_kind::number;
  return json_kind::string;
}

bool scalar_bool(const YAML::Node& n) {
  const auto& s = n.Scalar();
  return s == "true" || s == "True" || s == "TRUE";
}

nlohmann::json scalar_number(const std::string& s) {
  std::int64_t i = 0;
  auto begin = s.data() + (s.starts_with('+') ? 1 : 0);
  auto end = s.data() + s.size();
  if (s.starts_with("0x"))
    begin += 2;
  if (s.starts_with("0o"))
    begin += 2;
  int base = s.starts_with("0x") ? 16 : s.starts_with("0o") ? 8 : 10;
  if (auto [p, ec] = std::from_chars(begin, end, i, base); ec == std::errc{} && p == end)
    return i;
  if (s.ends_with("inf") || s.ends_with("Inf") || s.ends_with("INF"))
    return s.starts_with('-') ? -HUGE_VAL : HUGE_VAL;
  if (s.find("nan") != std::string::npos || s.find("NaN") != std::string::npos
      || s.find("NAN") != std::string::npos)
    return NAN;
  return std::strtod(s.c_str(), nullptr);
}

/// `path` is the path of the outermost value converted: paths of nested
/// values are not built (there may be millions); findings name the outer one.
std::optional<nlohmann::json> to_json_at(read_context& ctx, const YAML::Node& n,
                                         const std::string& path) {
  if (!ctx.visit(path, n))
    return std::nullopt;
  switch (kind_of(n)) {
    case json_kind::null: return nlohmann::json(nullptr);
    case json_kind::boolean: return nlohmann::json(scalar_bool(n));
    case json_kind::number: return scalar_number(n.Scalar());
    case json_kind::string: return nlohmann::json(n.Scalar());
    case json_kind::array: {
      auto out = nlohmann::json::array();
      for (const auto& item : n) {
        auto v = to_json_at(ctx, item, path);
        if (!v)
          return std::nullopt;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case json_kind::object: {
      auto out = nlohmann::json::object();
      for (const auto& kv : n) {
        if (kind_of(kv.first) == json_kind::array || kind_of(kv.first) == json_kind::object) {
          ctx.error(path, kv.first, "a mapping key must be a scalar");
          return std::nullopt;
        }
        auto v = to_json_at(ctx, kv.second, path);
        if (!v)
          return std::nullopt;
        out[kv.first.Scalar()] = std::move(*v);
      }
      return out;
    }
  }
  return std::nullopt;
}

} // namespace

json_kind kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: return json_kind::array;
    case YAML::NodeType::Map: return json_kind::object;
    case YAML::NodeType::Scalar: return scalar_kind(n);
    default: return json_kind::null;
  }
}

std::optional<nlohmann::json> to_json(read_context& ctx, const YAML::Node& n,
                                      const std::string& path) {
  return to_json_at(ctx, n, path);
}

std::string member_path(const std::string& parent, std::string_view key) {
  if (parent.empty())
    return std::string{key};
  return fmt::format("{}.{}", parent, key);
}

std::string item_path(const std::string& parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

object_reader::object_reader(read_context& ctx, YAML::Node node, std::string path)
  : ctx_(ctx), node_(std::move(node)), path_(std::move(path)) {
  ctx_.locate(path_, node_);
}

YAML::Node object_reader::get(std::string_view key) {
  known_.push_back(key);
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      ctx_.locate(path_of(key), kv.second);
      return kv.second;
    }
  return YAML::Node{YAML::NodeType::Undefined};
}

bool object_reader::has(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key)
      return true;
  return false;
}

void object_reader::missing(std::string_view key, std::string_view why) {
  ctx_.error(path_, node_,
             why.empty() ? fmt::format("missing required property '{}'", key)
                         : fmt::format("missing required property '{}' ({})", key, why));
}

namespace {

// Properties that 0.8 moved into `timeouts`; people still write them
// where older versions had them.
constexpr std::string_view timeout_properties[] = {
  "workflowExecTimeout", "stateExecTimeout", "actionExecTimeout",
  "branchExecTimeout", "eventTimeout"};

} // namespace

void object_reader::finish(bool strict) {
  for (const auto& kv : node_) {
    auto key = kv.first.IsScalar() ? kv.first.Scalar() : std::string{};
    if (std::find(known_.begin(), known_.end(), key) != known_.end())
      continue;
    auto message = fmt::format("unknown property '{}'", key);
    auto known_timeouts = std::find(known_.begin(), known_.end(), "timeouts") != known_.end();
    auto moved = std::find(std::begin(timeout_properties), std::end(timeout_properties), key);
    if (known_timeouts && moved != std::end(timeout_properties))
      message += fmt::format("; in 0.8 it belongs under 'timeouts': use timeouts.{}", key);
    else if (auto suggestion = closest(key, known_))
      message += fmt::format("; did you mean '{}'?", *suggestion);
    auto at = path_of(key);
    if (strict)
      ctx_.error(at, kv.first, std::move(message));
    else
      ctx_.warning(at, kv.first, message + " (ignored)");
  }
}

bool expect_object(read_context& ctx, const YAML::Node& n, const std::string& path,
                   std::string_view what) {
  if (kind_of(n) == json_kind::object)
    return true;
  ctx.error(path, n, fmt::format("{} must be an object, not {}", what, to_string(kind_of(n))));
  return false;
}

namespace {

bool expect_kind(object_reader& r, std::string_view key, const YAML::Node& n,
                 json_kind want) {
  auto got = kind_of(n);
  if (got == want)
    return true;
  r.context().error(r.path_of(key), n,
                    fmt::format("'{}' must be {}, not {}", key, to_string(want),
                                to_string(got)));
  return false;
}

} // namespace

std::optional<std::string> read_string(object_reader& r, std::string_view key,
                                       bool non_empty) {
  auto n = r.get(key);
  if (!n.IsDefined() || !expect_kind(r, key, n, json_kind::string))
    return std::nullopt;
  if (non_empty && n.Scalar().empty()) {
    r.context().error(r.path_of(key), n, fmt::format("'{}' must not be empty", key));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<std::string> require_string(object_reader& r, std::string_view key,
                                          bool non_empty) {
  if (!r.has(key)) {
    r.get(key);
    r.missing(key);
    return std::nullopt;
  }
  return read_string(r, key, non_empty);
}

std::optional<bool> read_bool(object_reader& r, std::string_view key) {
  auto n = r.get(key);
  if (!n.IsDefined() || !expect_kind(r, key, n, json_kind::boolean))
    return std::nullopt;
  return scalar_bool(n);
}

std::optional<double> read_number(object_reader& r, std::string_view key) {
  auto n = r.get(key);
  if (!n.IsDefined())
    return std::nullopt;
  auto kind = kind_of(n);
  if (kind == json_kind::number)
    return scalar_number(n.Scalar()).get<double>();
  if (kind == json_kind::string) {
    const auto& s = n.Scalar();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc{} && p == s.data() + s.size())
      return v;
    r.context().error(r.path_of(key), n,
                      fmt::format("'{}' must be a number, not the string \"{}\"", key, s));
    return std::nullopt;
  }
  expect_kind(r, key, n, json_kind::number);
  return std::nullopt;
}

std::optional<int> read_count(object_reader& r, std::string_view key, int minimum) {
  auto n = r.get(key);
  if (!n.IsDefined())
    return std::nullopt;
  auto kind = kind_of(n);
  if (kind != json_kind::number && kind != json_kind::string) {
    r.context().error(r.path_of(key), n,
                      fmt::format("'{}' must be a number or a numeric string, not {}",
                                  key, to_string(kind)));
    return std::nullopt;
  }
  const auto& s = n.Scalar();
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < minimum || v > 1'000'000'000) {
    r.context().error(r.path_of(key), n,
                      fmt::format("'{}' must be a whole number of at least {}, not \"{}\"",
                                  key, minimum, s));
    return std::nullopt;
  }
  return static_cast<int>(v);
}

std::optional<iso_duration> read_duration(object_reader& r, std::string_view key) {
  auto text = read_string(r, key, true);
  if (!text)
    return std::nullopt;
  auto d = parse_duration(*text);
  if (!d) {
    r.context().error(r.path_of(key), r.get(key), d.error().message);
    return std::nullopt;
  }
  if (d->text != *text)
    r.context().warning(r.path_of(key), r.get(key),
                        fmt::format("'{}' is not ISO 8601: days and weeks come before "
                                    "'T'; read as {}",
                                    *text, d->text));
  return *d;
}

std::optional<std::vector<std::string>>
read_string_list(object_reader& r, std::string_view key, bool non_empty) {
  auto n = r.get(key);
  if (!n.IsDefined() || !expect_kind(r, key, n, json_kind::array))
    return std::nullopt;
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : n) {
    auto path = item_path(r.path_of(key), i++);
    if (!r.context().visit(path, item))
      return std::nullopt;
    if (kind_of(item) != json_kind::string) {
      r.context().error(path, item, fmt::format("must be a string, not {}",
                                                to_string(kind_of(item))));
      return std::nullopt;
    }
    out.push_back(item.Scalar());
  }
  if (non_empty && out.empty()) {
    r.context().error(r.path_of(key), n, fmt::format("'{}' must not be empty", key));
    return std::nullopt;
  }
  return out;
}

std::map<std::string, std::string> read_string_map(object_reader& r,
                                                   std::string_view key) {
  std::map<std::string, std::string> out;
  auto n = r.get(key);
  if (!n.IsDefined() || !expect_kind(r, key, n, json_kind::object))
    return out;
  for (const auto& kv : n) {
    auto path = member_path(r.path_of(key), kv.first.Scalar());
    if (!r.context().visit(path, kv.second))
      break;
    if (kind_of(kv.second) != json_kind::string) {
      r.context().error(path, kv.second, fmt::format("must be a string, not {}",
                                                     to_string(kind_of(kv.second))));
      continue;
    }
    out.emplace(kv.first.Scalar(), kv.second.Scalar());
  }
  return out;
}

dsl::metadata read_metadata(object_reader& r) {
  return read_string_map(r, "metadata");
}

std::optional<nlohmann::json> read_object(object_reader& r, std::string_view key) {
  auto n = r.get(key);
  if (!n.IsDefined() || !expect_kind(r, key, n, json_kind::object))
    return std::nullopt;
  return to_json(r.context(), n, r.path_of(key));
}

std::optional<nlohmann::json> read_string_or_object(object_reader& r,
                                                    std::string_view key) {
  auto n = r.get(key);
  if (!n.IsDefined())
    return std::nullopt;
  auto kind = kind_of(n);
  if (kind != json_kind::string && kind != json_kind::object) {
    r.context().error(r.path_of(key), n,
                      fmt::format("'{}' must be a string (an expression) or an object, "
                                  "not {}",
                                  key, to_string(kind)));
    return std::nullopt;
  }
  return to_json(r.context(), n, r.path_of(key));
}

std::optional<std::size_t> read_enum(object_reader& r, std::string_view key,
                                     const std::vector<std::string_view>& names) {
  auto text = read_string(r, key);
  if (!text)
    return std::nullopt;
  auto it = std::find(names.begin(), names.end(), *text);
  if (it != names.end())
    return static_cast<std::size_t>(it - names.begin());
  std::string choices;
  for (auto name : names)
    choices += fmt::format("{}'{}'", choices.empty() ? "" : ", ", name);
  auto message = fmt::format("'{}' must be one of {}, not '{}'", key, choices, *text);
  if (auto s = closest(*text, names))
    message += fmt::format("; did you mean '{}'?", *s);
  r.context().error(r.path_of(key), r.get(key), std::move(message));
  return std::nullopt;
}

} // namespace meshflow::dsl::detail
