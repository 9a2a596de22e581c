#include "meshflow/dsl/expression.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace meshflow::dsl {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

std::optional<std::string_view> unwrap_expression(std::string_view text) {
  auto t = trim(text);
  if (t.size() >= 3 && t.starts_with("${") && t.ends_with('}'))
    return trim(t.substr(2, t.size() - 3));
  return std::nullopt;
}

prepared_expression
prepare_expression(std::string_view text,
                   const std::vector<std::string>& expression_functions) {
  prepared_expression out;
  auto src = unwrap_expression(text).value_or(trim(text));
  auto& o = out.source;
  o.reserve(src.size() + 8);

  // Code nests inside strings through `\(...)`; the stack says, for each open
  // bracket, which one it is ('(' also for an interpolation, marked 'i').
  std::vector<char> open;
  bool in_string = false;
  for (std::size_t i = 0; i < src.size(); ++i) {
    char c = src[i];
    if (in_string) {
      o += c;
      if (c == '\\' && i + 1 < src.size()) {
        o += src[++i];
        if (src[i] == '(') {
          open.push_back('i');
          in_string = false;
        }
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        o += c;
        break;
      case '#':  // a comment runs to the end of the line
        while (i < src.size() && src[i] != '\n')
          o += src[i++];
        if (i < src.size())
          o += '\n';
        break;
      case '\'': {
        // Not jq: the EventMesh example's single-quoted literal.
        auto end = src.find('\'', i + 1);
        if (end == std::string_view::npos) {
          out.error = fmt::format("unterminated single-quoted string at column {}", i + 1);
          return out;
        }
        auto literal = src.substr(i + 1, end - i - 1);
        std::string rewritten = "\"";
        for (char l : literal) {
          if (l == '"' || l == '\\')
            rewritten += '\\';
          rewritten += l;
        }
        rewritten += '"';
        out.warnings.push_back(fmt::format(
          "'{}' is not jq (jq strings take double quotes); read as {}", literal, rewritten));
        o += rewritten;
        i = end;
        break;
      }
      case '(':
      case '[':
      case '{':
        open.push_back(c);
        o += c;
        break;
      case ')':
      case ']':
      case '}': {
        char want = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (open.empty() || (open.back() != want && !(c == ')' && open.back() == 'i'))) {
          out.error = fmt::format("unbalanced '{}' at column {}", c, i + 1);
          return out;
        }
        bool interpolation = open.back() == 'i';
        open.pop_back();
        o += c;
        if (interpolation)
          in_string = true;
        break;
      }
      default:
        if (c == 'f' && src.substr(i, 3) == "fn:" && (i == 0 || !ident_char(src[i - 1]))) {
          auto start = i + 3;
          auto end = start;
          while (end < src.size() && (ident_char(src[end]) || src[end] == '-'))
            ++end;
          std::string name{src.substr(start, end - start)};
          auto it = std::find(expression_functions.begin(), expression_functions.end(), name);
          if (name.empty() || it == expression_functions.end()) {
            out.error = fmt::format("'fn:{}' names no expression function of this workflow",
                                    name);
            return out;
          }
          out.functions_called.push_back(name);
          o += fmt::format("__mf_fn_{}", it - expression_functions.begin());
          i = end - 1;
          break;
        }
        if (c == 'e' && src.substr(i, 5) == "error" && (i == 0 || !ident_char(src[i - 1]))
            && (i + 5 == src.size() || !ident_char(src[i + 5])))
          out.calls_error = true;
        o += c;
    }
  }
  if (in_string)
    out.error = "unterminated string";
  else if (!open.empty())
    out.error = fmt::format("'{}' is never closed", open.back() == 'i' ? '(' : open.back());
  else if (trim(o).empty())
    o.assign(1, '.');  // jq compiles an empty program as the identity
  return out;
}

} // namespace meshflow::dsl
