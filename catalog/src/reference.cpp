#include "meshflow/catalog/reference.hpp"

#include <fmt/format.h>

#include "meshflow/catalog/errc.hpp"

namespace meshflow::catalog {

expected<operation_reference> parse_reference(std::string_view text) {
  auto hash = text.rfind('#');
  auto form = "DOC#operationId, such as file://orderService.yaml#sendOrder";
  if (hash == std::string_view::npos)
    return fail(errc::reference,
                fmt::format("'{}' names no operation; an AsyncAPI reference is {}", text, form));
  if (hash + 1 == text.size())
    return fail(errc::reference,
                fmt::format("'{}' has no operationId after '#'; an AsyncAPI reference is {}",
                            text, form));
  operation_reference out;
  auto document = text.substr(0, hash);
  if (document.starts_with("file://"))
    document.remove_prefix(7);
  out.document = std::string{document};
  out.operation_id = std::string{text.substr(hash + 1)};
  return out;
}

std::string document_base_name(std::string_view document) {
  if (auto scheme = document.find("://"); scheme != std::string_view::npos)
    document.remove_prefix(scheme + 3);
  if (auto query = document.find_first_of("?#"); query != std::string_view::npos)
    document = document.substr(0, query);
  if (auto slash = document.find_last_of("/\\"); slash != std::string_view::npos)
    document.remove_prefix(slash + 1);
  return std::string{document};
}

read_result read_referenced_document(const std::filesystem::path& workflow_dir,
                                     const operation_reference& ref,
                                     const dsl::load_options& options) {
  if (ref.document.empty() || ref.document.find("://") != std::string::npos) {
    read_result out;
    out.diagnostics.push_back(
      {ref.document, {}, dsl::severity::error, "",
       ref.document.empty()
         ? std::string{"the reference names no document to read"}
         : fmt::format("'{}' is not a file beside the workflow; register the document in "
                       "the catalog",
                       ref.document)});
    return out;
  }
  std::filesystem::path file{ref.document};
  return read_asyncapi_file(file.is_absolute() ? file : workflow_dir / file, options);
}

} // namespace meshflow::catalog
