#pragma once
#include <string>

namespace medvqa::data {

// Trims and collapses runs of whitespace (ASCII, NBSP, ideographic space) to one space.
std::string collapse_whitespace(const std::string& text);

// The one answer normalization, used for training targets, exact-match scoring and candidate
// ranking alike (DESIGN.md, evaluation protocol):
//   - ASCII letters lowercased; other bytes (Chinese, accented letters) left as they are;
//   - whitespace trimmed and collapsed;
//   - trailing punctuation . , ! ? ; : and full-width 。，！？ stripped, repeatedly;
//   - numbers kept as text, except that a word that is a decimal number with an all-zero
//     fraction loses it ("2.0" -> "2", "4.00 cm" -> "4 cm"), because JSON writers turn the
//     integer answers of these datasets into floats and "2" must match "2.0".
std::string normalize_answer(const std::string& answer);

}  // namespace medvqa::data
