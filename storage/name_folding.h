// Case- and accent-folding of names for the `names` index and for search queries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace annals::storage {

// Lower-cases, strips accents and collapses punctuation and spaces to single spaces:
// "Abdullah Gül" -> "abdullah gul", "Turkmenistan-Afghanistan" -> "turkmenistan afghanistan".
// Thread-safe.
std::string FoldName(std::string_view name);

// The index terms of a name: its folded form and every suffix starting at a word, so a
// prefix search for "gul" or "abdullah g" both find "Abdullah Gül".
std::vector<std::string> NameTerms(std::string_view name);

}  // namespace annals::storage
