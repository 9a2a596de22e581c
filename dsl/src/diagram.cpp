#include "meshflow/dsl/diagram.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "walk.hpp"

namespace meshflow::dsl {

namespace {

enum class edge_kind { transition, error, compensation };

struct edge {
  std::size_t from;
  std::optional<std::size_t> to;  // none: the end
  edge_kind kind;
  std::string label;
};

std::optional<std::size_t> index_of(const workflow& w, const std::string& name) {
  for (std::size_t i = 0; i < w.states.size(); ++i)
    if (w.states[i].name == name)
      return i;
  return std::nullopt;
}

std::string end_label(const end_def& e) {
  if (e.continue_as)
    return fmt::format("continue as {}", e.continue_as->workflow_id);
  if (e.terminate)
    return "terminate";
  if (e.compensate)
    return "compensate";
  return {};
}

std::vector<edge> edges_of(const workflow& w) {
  std::vector<edge> out;
  for (std::size_t i = 0; i < w.states.size(); ++i) {
    const auto& s = w.states[i];
    auto add = [&](const flow& f, edge_kind kind, std::string label) {
      if (const auto* t = std::get_if<transition_def>(&f)) {
        if (auto to = index_of(w, t->next_state))
          out.push_back({i, to, kind,
                         !t->compensate ? label
                         : label.empty() ? std::string{"compensate"}
                                         : fmt::format("{}, compensate", label)});
      } else {
        auto e = end_label(std::get<end_def>(f));
        out.push_back({i, std::nullopt, kind,
                       label.empty() ? e : (e.empty() ? label : fmt::format("{}, {}", label, e))});
      }
    };
    if (s.flow)
      add(*s.flow, edge_kind::transition, "");
    if (const auto* sw = std::get_if<switch_state>(&s.properties)) {
      for (const auto& c : sw->data_conditions)
        add(c.flow, edge_kind::transition, c.name.value_or(c.condition));
      for (const auto& c : sw->event_conditions)
        add(c.flow, edge_kind::transition, c.name.value_or(c.event_ref));
      add(sw->default_condition, edge_kind::transition, "default");
    }
    for (const auto& h : s.on_errors) {
      std::string errors;
      add(h.flow, edge_kind::error, fmt::format("error: {}", fmt::join(h.error_refs, ", ")));
    }
    if (s.compensated_by)
      if (auto to = index_of(w, *s.compensated_by))
        out.push_back({i, to, edge_kind::compensation, "compensated by"});
  }
  return out;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string mermaid_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "#quot;"; break;
      case '|': out += "#124;"; break;
      case '<': out += "#lt;"; break;
      case '>': out += "#gt;"; break;
      case '\n': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string dot(const workflow& w, const std::vector<edge>& edges, std::size_t start) {
  std::string out = fmt::format("digraph \"{}\" {{\n", dot_escape(w.identity()));
  out += "  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
         "  edge [fontname=\"Helvetica\", fontsize=10];\n"
         "  start [shape=circle, label=\"\", style=filled, fillcolor=black, width=0.2];\n"
         "  end [shape=doublecircle, label=\"\", style=filled, fillcolor=black, width=0.15];\n";
  for (std::size_t i = 0; i < w.states.size(); ++i) {
    const auto& s = w.states[i];
    out += fmt::format("  s{} [label=\"{}\\n({})\"{}];\n", i, dot_escape(s.name),
                       to_string(s.type()),
                       s.used_for_compensation ? ", style=\"rounded,dashed\"" : "");
  }
  if (!w.states.empty())
    out += fmt::format("  start -> s{};\n", start);
  for (const auto& e : edges) {
    auto to = e.to ? fmt::format("s{}", *e.to) : std::string{"end"};
    std::vector<std::string> attrs;
    if (!e.label.empty())
      attrs.push_back(fmt::format("label=\"{}\"", dot_escape(e.label)));
    if (e.kind == edge_kind::error)
      attrs.push_back("style=dashed, color=red, fontcolor=red");
    if (e.kind == edge_kind::compensation)
      attrs.push_back("style=dotted, color=blue, fontcolor=blue");
    out += attrs.empty() ? fmt::format("  s{} -> {};\n", e.from, to)
                         : fmt::format("  s{} -> {} [{}];\n", e.from, to, fmt::join(attrs, ", "));
  }
  out += "}\n";
  return out;
}

std::string mermaid(const workflow& w, const std::vector<edge>& edges, std::size_t start) {
  std::string out = "flowchart TD\n  start((start))\n  end_((end))\n";
  for (std::size_t i = 0; i < w.states.size(); ++i) {
    const auto& s = w.states[i];
    out += fmt::format("  s{}[\"{}<br/><i>{}</i>\"]\n", i, mermaid_escape(s.name),
                       to_string(s.type()));
  }
  if (!w.states.empty())
    out += fmt::format("  start --> s{}\n", start);
  for (const auto& e : edges) {
    auto to = e.to ? fmt::format("s{}", *e.to) : std::string{"end_"};
    auto label = e.label.empty() ? std::string{} : fmt::format("|{}|", mermaid_escape(e.label));
    auto arrow = e.kind == edge_kind::transition ? "-->" : e.kind == edge_kind::error ? "-.->" : "==>";
    out += fmt::format("  s{} {}{} {}\n", e.from, arrow, label, to);
  }
  for (std::size_t i = 0; i < w.states.size(); ++i)
    if (w.states[i].used_for_compensation)
      out += fmt::format("  style s{} stroke-dasharray: 5 5\n", i);
  return out;
}

} // namespace

std::string render_diagram(const workflow& w, diagram_format format) {
  auto edges = edges_of(w);
  std::size_t start = 0;
  if (auto s = index_of(w, w.start.state_name))
    start = *s;
  return format == diagram_format::dot ? dot(w, edges, start) : mermaid(w, edges, start);
}

} // namespace meshflow::dsl
