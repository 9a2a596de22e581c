#include "meshflow/dsl/document.hpp"

#include <charconv>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "reader.hpp"
#include "text.hpp"

namespace meshflow::dsl {

/// The parsed tree, indexed as lookups walk it: each mapping or sequence
/// met on the way is indexed once (its members by key), so that finding
/// the positions of all members of a mapping of N entries costs N, not N².
struct document_positions::tree {
  struct node {
    explicit node(const YAML::Node& n) : yaml(n), position(detail::position_of(n)) {}

    YAML::Node yaml;
    source_position position;
    bool indexed = false;
    std::unordered_map<std::string, std::unique_ptr<node>> members;
    std::vector<std::unique_ptr<node>> items;

    void index() {
      if (indexed)
        return;
      indexed = true;
      if (yaml.IsMap()) {
        for (const auto& kv : yaml)
          if (kv.first.IsScalar())  // the last of a key written twice, as JSON keeps it
            members.insert_or_assign(kv.first.Scalar(), std::make_unique<node>(kv.second));
      } else if (yaml.IsSequence()) {
        for (const auto& item : yaml)
          items.push_back(std::make_unique<node>(item));
      }
    }

    node* child(const std::string& token) {
      index();
      if (yaml.IsMap()) {
        auto it = members.find(token);
        return it == members.end() ? nullptr : it->second.get();
      }
      std::size_t i = 0;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), i);
      if (ec != std::errc{} || p != token.data() + token.size() || i >= items.size())
        return nullptr;
      return items[i].get();
    }
  };

  explicit tree(const YAML::Node& n) : root(n) {}

  std::mutex mutex;  // lookups index the tree
  node root;
};

source_position document_positions::find(const nlohmann::json::json_pointer& pointer) const {
  if (!tree_)
    return {};
  std::vector<std::string> tokens;
  for (auto p = pointer; !p.empty(); p.pop_back())
    tokens.push_back(p.back());
  std::lock_guard lock{tree_->mutex};
  auto* at = &tree_->root;
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    auto* next = at->child(*it);
    if (!next || next->position.line == 0)
      break;
    at = next;
  }
  return at->position;
}

expected<nlohmann::json> read_document(const std::filesystem::path& file,
                                       const load_options& options) {
  auto text = read_text(file, options.max_bytes);
  if (!text)
    return fail("document", text.error().message);
  return parse_document(*text, file.string(), options);
}

expected<nlohmann::json> parse_document(std::string_view text, const std::string& name,
                                        const load_options& options) {
  if (text.size() > options.max_bytes)
    return fail("document", fmt::format("{} is {} bytes; documents are limited to {} bytes",
                                        name, text.size(), options.max_bytes));
  auto doc = parse_located_document(text, name, options);
  for (const auto& d : doc.diagnostics)
    if (d.severity == severity::error)
      return fail("document", to_string(d));
  if (!doc.value)
    return fail("document", fmt::format("{}: cannot be read", name));
  return std::move(*doc.value);
}

located_document parse_located_document(std::string_view text, const std::string& name,
                                        const load_options& options) {
  located_document out;
  if (text.size() > options.max_bytes) {
    out.diagnostics.push_back(
      {name, {1, 1}, severity::error, "",
       fmt::format("{} is {} bytes; documents are limited to {} bytes", name, text.size(),
                   options.max_bytes)});
    return out;
  }
  auto parsed = detail::parse_document(text, name);
  out.diagnostics = std::move(parsed.diagnostics);
  if (parsed.root) {
    source_map positions;
    detail::read_context ctx{name, out.diagnostics, positions, options.max_nodes};
    try {
      out.value = detail::to_json(ctx, *parsed.root, "");
    } catch (const std::exception& e) {
      out.diagnostics.push_back({name, {}, severity::error, "",
                                 fmt::format("cannot be read: {}", e.what())});
    }
    out.positions.tree_ = std::make_shared<document_positions::tree>(*parsed.root);
  }
  if (has_errors(out.diagnostics))
    out.value.reset();
  return out;
}

} // namespace meshflow::dsl
