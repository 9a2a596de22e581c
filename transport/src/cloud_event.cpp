#include "meshflow/transport/cloud_event.hpp"

#include <array>

#include <fmt/format.h>

#include "encoding.hpp"
#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {

namespace {

constexpr std::size_t max_name_length = 20;

constexpr std::array<std::string_view, 8> core_attributes = {
  "id",   "source",          "specversion", "type",
  "time", "datacontenttype", "dataschema",  "subject",
};

tl::unexpected<error> invalid(std::string_view name, std::string_view what) {
  return fail(errc::invalid_event, fmt::format("attribute \"{}\": {}", name, what));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t n) {
  if (text.size() - pos < n)
    return std::nullopt;
  int value = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (!is_digit(text[pos + k]))
      return std::nullopt;
    value = value * 10 + (text[pos + k] - '0');
  }
  pos += n;
  return value;
}

bool take(std::string_view text, std::size_t& pos, std::string_view chars) {
  if (pos < text.size() && chars.find(text[pos]) != std::string_view::npos) {
    ++pos;
    return true;
  }
  return false;
}

// RFC 3339 `date-time`: 2018-04-05T17:31:00Z, 2018-04-05T17:31:00.123+02:00.
std::optional<std::string> timestamp_problem(std::string_view text) {
  constexpr auto expected_form =
    "is not an RFC 3339 timestamp (expected the form 2018-04-05T17:31:00Z or "
    "2018-04-05T17:31:00.5+02:00)";
  std::size_t pos = 0;
  auto year = digits(text, pos, 4);
  if (!year || !take(text, pos, "-"))
    return expected_form;
  auto month = digits(text, pos, 2);
  if (!month || !take(text, pos, "-"))
    return expected_form;
  auto day = digits(text, pos, 2);
  if (!day || !take(text, pos, "Tt"))
    return expected_form;
  auto hour = digits(text, pos, 2);
  if (!hour || !take(text, pos, ":"))
    return expected_form;
  auto minute = digits(text, pos, 2);
  if (!minute || !take(text, pos, ":"))
    return expected_form;
  auto second = digits(text, pos, 2);
  if (!second)
    return expected_form;
  if (take(text, pos, ".")) {
    std::size_t start = pos;
    while (pos < text.size() && is_digit(text[pos]))
      ++pos;
    if (pos == start)
      return expected_form;
  }
  if (!take(text, pos, "Zz")) {
    if (!take(text, pos, "+-"))
      return expected_form;
    auto offset_hour = digits(text, pos, 2);
    if (!offset_hour || !take(text, pos, ":"))
      return expected_form;
    auto offset_minute = digits(text, pos, 2);
    if (!offset_minute)
      return expected_form;
    if (*offset_hour > 23 || *offset_minute > 59)
      return "has a time zone offset out of range";
  }
  if (pos != text.size())
    return expected_form;
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  constexpr std::array<int, 12> month_days = {31, 29, 31, 30, 31, 30,
                                              31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12)
    return "has a month out of range";
  if (*day < 1 || *day > month_days[*month - 1] || (*month == 2 && !leap && *day > 28))
    return "has a day out of range for its month";
  if (*hour > 23 || *minute > 59 || *second > 60)
    return "has a time of day out of range";
  return std::nullopt;
}

// RFC 2046 `type "/" subtype *(";" parameter)`, loosely: tokens on both
// sides of the slash; parameters are not checked further.
bool is_token_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F && std::string_view("()<>@,;:\\\"/[]?=").find(c)
                                   == std::string_view::npos;
}

std::optional<std::string> media_type_problem(std::string_view text) {
  std::string_view essence = text.substr(0, text.find(';'));
  while (!essence.empty() && essence.back() == ' ')
    essence.remove_suffix(1);
  auto slash = essence.find('/');
  auto is_token = [](std::string_view t) {
    if (t.empty())
      return false;
    for (char c : t)
      if (!is_token_char(c))
        return false;
    return true;
  };
  if (slash == std::string_view::npos || !is_token(essence.substr(0, slash))
      || !is_token(essence.substr(slash + 1)))
    return fmt::format("{} is not a media type (expected type/subtype, "
                       "e.g. application/json)",
                       detail::quote(text));
  return std::nullopt;
}

// RFC 3986 absolute URI, loosely: a scheme, a colon, no whitespace.
std::optional<std::string> uri_problem(std::string_view text) {
  auto colon = text.find(':');
  bool scheme_ok = colon != std::string_view::npos && colon > 0
                   && ((text[0] >= 'a' && text[0] <= 'z')
                       || (text[0] >= 'A' && text[0] <= 'Z'));
  for (std::size_t k = 1; scheme_ok && k < colon; ++k) {
    char c = text[k];
    scheme_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)
                || c == '+' || c == '-' || c == '.';
  }
  if (!scheme_ok)
    return fmt::format("{} is not an absolute URI (it needs a scheme, "
                       "e.g. https://example.com/schema.json)",
                       detail::quote(text));
  if (text.find_first_of(" \t\r\n") != std::string_view::npos)
    return fmt::format("{} is not a URI: it contains whitespace",
                       detail::quote(text));
  return std::nullopt;
}

} // namespace

bool is_core_attribute(std::string_view name) {
  for (auto core : core_attributes)
    if (core == name)
      return true;
  return false;
}

bool is_json_media_type(std::optional<std::string_view> content_type) {
  if (!content_type)
    return true;
  std::string essence = detail::media_type_essence(*content_type);
  auto slash = essence.find('/');
  if (slash == std::string::npos)
    return false;
  std::string_view subtype = std::string_view(essence).substr(slash + 1);
  return subtype == "json" || subtype.ends_with("+json");
}

expected<void> validate_attribute_name(std::string_view name) {
  if (name.empty())
    return fail(errc::invalid_event, "an attribute has an empty name");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || is_digit(c)))
      return fail(errc::invalid_event,
                  fmt::format("attribute {}: invalid name: CloudEvents attribute "
                              "names consist of lowercase letters a-z and "
                              "digits 0-9 only",
                              detail::quote(name)));
  if (name.size() > max_name_length)
    return fail(errc::invalid_event,
                fmt::format("attribute \"{}\": invalid name: it is {} characters "
                            "long, CloudEvents attribute names are at most {}",
                            name, name.size(), max_name_length));
  return {};
}

std::optional<std::string_view> cloud_event::attribute(std::string_view name) const {
  auto optional_view = [](const std::optional<std::string>& v)
    -> std::optional<std::string_view> {
    if (v)
      return std::string_view(*v);
    return std::nullopt;
  };
  if (name == "id")
    return id;
  if (name == "source")
    return source;
  if (name == "specversion")
    return specversion;
  if (name == "type")
    return type;
  if (name == "datacontenttype")
    return optional_view(datacontenttype);
  if (name == "dataschema")
    return optional_view(dataschema);
  if (name == "subject")
    return optional_view(subject);
  if (name == "time")
    return optional_view(time);
  if (auto i = extensions.find(std::string(name)); i != extensions.end())
    return std::string_view(i->second);
  return std::nullopt;
}

expected<void> cloud_event::set_attribute(std::string_view name, std::string value) {
  if (auto ok = validate_attribute_name(name); !ok)
    return ok;
  if (name == "data")
    return invalid(name, "\"data\" is the event payload, not an attribute");
  if (name == "id")
    id = std::move(value);
  else if (name == "source")
    source = std::move(value);
  else if (name == "specversion")
    specversion = std::move(value);
  else if (name == "type")
    type = std::move(value);
  else if (name == "datacontenttype")
    datacontenttype = std::move(value);
  else if (name == "dataschema")
    dataschema = std::move(value);
  else if (name == "subject")
    subject = std::move(value);
  else if (name == "time")
    time = std::move(value);
  else
    extensions.insert_or_assign(std::string(name), std::move(value));
  return {};
}

expected<void> validate(const cloud_event& event) {
  if (event.specversion.empty())
    return invalid("specversion", "required attribute is missing");
  if (event.specversion != "1.0")
    return invalid("specversion",
                   fmt::format("unsupported CloudEvents version {} (only \"1.0\" "
                               "is supported)",
                               detail::quote(event.specversion)));
  auto check_string = [](std::string_view name,
                         std::string_view value) -> expected<void> {
    if (auto problem = detail::string_problem(value))
      return invalid(name, fmt::format("the value {}", *problem));
    return {};
  };
  auto check_required = [&](std::string_view name,
                            std::string_view value) -> expected<void> {
    if (value.empty())
      return invalid(name, "required attribute is missing or empty");
    return check_string(name, value);
  };
  auto check_optional = [&](std::string_view name,
                            const std::optional<std::string>& value) -> expected<void> {
    if (value && value->empty())
      return invalid(name, "must not be empty when present");
    return value ? check_string(name, *value) : expected<void>{};
  };
  for (auto [name, value] : {std::pair{"id", &event.id},
                             std::pair{"source", &event.source},
                             std::pair{"type", &event.type}})
    if (auto ok = check_required(name, *value); !ok)
      return ok;
  for (auto [name, value] : {std::pair{"datacontenttype", &event.datacontenttype},
                             std::pair{"dataschema", &event.dataschema},
                             std::pair{"subject", &event.subject},
                             std::pair{"time", &event.time}})
    if (auto ok = check_optional(name, *value); !ok)
      return ok;
  if (event.datacontenttype)
    if (auto problem = media_type_problem(*event.datacontenttype))
      return invalid("datacontenttype", *problem);
  if (event.dataschema)
    if (auto problem = uri_problem(*event.dataschema))
      return invalid("dataschema", *problem);
  if (event.time)
    if (auto problem = timestamp_problem(*event.time))
      return invalid("time", fmt::format("{} {}", detail::quote(*event.time), *problem));
  for (const auto& [name, value] : event.extensions) {
    if (auto ok = validate_attribute_name(name); !ok)
      return ok;
    if (is_core_attribute(name) || name == "data")
      return invalid(name, "is reserved by CloudEvents and cannot be an extension "
                           "attribute");
    if (auto ok = check_string(name, value); !ok)
      return ok;
  }
  return {};
}

} // namespace meshflow::transport
