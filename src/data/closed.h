#pragma once
#include <string>
#include <vector>

#include "data/example.h"

namespace medvqa::data {

// A closed question is one the dataset marks CLOSED (VQA-RAD and SLAKE; VQA-Med rows with a
// yes/no answer are marked so by its reader). Not every closed answer is yes/no.
bool is_closed_question(const VqaExample& example);

// The answers a closed question offers, normalized (normalize_answer), to rank by likelihood:
//   - an English "A or B" question gives its options, articles stripped
//     ("Is this a CT or an MRI?" -> {"ct", "mri"}; "lung, liver or heart" -> all three);
//   - an English yes/no question (starts with is/are/does/was/...; "is there A or B" asks
//     about either, so it is yes/no) gives {"yes", "no"};
//   - anything else, including every non-English question, gives {}: generate freely.
// The options are a heuristic over the wording; on VQA-RAD's closed "A or B" questions the
// reference answer is among them about two times in three (answers often add or drop a noun:
// "left side", "white matter").
std::vector<std::string> closed_candidates(const std::string& question);

}  // namespace medvqa::data
