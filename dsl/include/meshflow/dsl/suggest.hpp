#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace meshflow::dsl {

/// The closest of `candidates` to `word` when it is close enough to be a
/// typo of it (edit distance, transpositions counted once, case ignored), for
/// the "did you mean 'X'?" of every message that names something unknown.
std::optional<std::string_view>
closest(std::string_view word, const std::vector<std::string_view>& candidates);

} // namespace meshflow::dsl
