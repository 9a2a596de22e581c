#include "meshflow/actors/operation_lookup.hpp"

#include <system_error>

#include <fmt/format.h>

#include "meshflow/catalog/errc.hpp"
#include "meshflow/catalog/reference.hpp"

namespace meshflow::actors {

namespace {

/// The AsyncAPI side of a direction (catalog/asyncapi.hpp, `direction`).
std::string_view operation_side(catalog::direction d) {
  return d == catalog::direction::produce ? "publish" : "subscribe";
}

std::string errors_of(const std::vector<dsl::diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics)
    if (d.severity == dsl::severity::error)
      out += fmt::format("\n{}", dsl::to_string(d));
  return out;
}

} // namespace

operation_lookup::operation_lookup(std::shared_ptr<const catalog::service_catalog> catalog,
                                   std::filesystem::path workflow_dir)
  : catalog_{catalog ? *catalog : catalog::service_catalog{}},
    workflow_dir_{std::move(workflow_dir)} {}

expected<catalog::bound_operation> operation_lookup::bind(std::string_view what,
                                                          std::string_view reference,
                                                          catalog::direction needed) {
  auto bound = resolve(what, reference);
  if (!bound || bound->operation.direction == needed)
    return bound;
  const auto& op = bound->operation;
  return fail("deploy",
              fmt::format("{}: operation '{}' of '{}' is a {} operation, {} (channel '{}'), but "
                          "the workflow {} this; bind it to a {} operation",
                          what, op.id, catalog::document_base_name(bound->document),
                          operation_side(op.direction),
                          op.direction == catalog::direction::produce
                            ? "to which a workflow produces"
                            : "from which a workflow consumes",
                          op.channel,
                          needed == catalog::direction::produce ? "produces" : "consumes",
                          operation_side(needed)));
}

expected<catalog::bound_operation> operation_lookup::resolve(std::string_view what,
                                                             std::string_view reference) {
  auto bound = catalog_.resolve(reference);
  if (bound)
    return bound;
  auto ref = catalog::parse_reference(reference);
  if (bound.error().code != catalog::errc::not_found || !ref || ref->document.empty())
    return fail("deploy", fmt::format("{}: {}", what, bound.error().message));
  // Not in the catalog: the document beside the workflow (SEMANTICS.md,
  // "Events": the operation id in the catalog first, then the file).
  auto neither = fmt::format("{}: operation '{}' of '{}' is neither in the catalog nor in a "
                             "file beside the workflow",
                             what, ref->operation_id, ref->document);
  std::filesystem::path file{ref->document};
  std::error_code ec;
  if (ref->document.find("://") != std::string::npos
      || !std::filesystem::is_regular_file(file.is_absolute() ? file : workflow_dir_ / file, ec))
    return fail("deploy", neither + "; register its document with `meshflow catalog register`");
  auto read = catalog::read_referenced_document(workflow_dir_, *ref);
  if (!read.service)
    return fail("deploy", fmt::format("{}: operation '{}' is not in the catalog, and '{}' beside "
                                      "the workflow is not a valid AsyncAPI document:{}",
                                      what, ref->operation_id, ref->document,
                                      errors_of(read.diagnostics)));
  found_.push_back({read.service->name, read.service->text});
  catalog_.add(std::move(*read.service));
  bound = catalog_.resolve(reference);
  if (!bound)
    return fail("deploy", fmt::format("{}: {}", neither, bound.error().message));
  return bound;
}

} // namespace meshflow::actors
