#pragma once
#include <string>
#include <vector>

namespace medvqa::text {

// The documents of one training-text file, each trimmed of surrounding whitespace, empty ones
// dropped. The format is chosen by file name, then content:
//  * `*.json`: a JSON array of dataset rows. A row with a "Description" object holding a "Caption"
//    (MedPix 2.0 Descriptions.json) gives the caption; a row with "question"/"answer" (VQA-RAD
//    trainset.json, SLAKE train.json/validate.json) gives both, numbers written as JSON numbers
//    (VQA-RAD has answers like 4). Rows with neither are skipped, but a file where no row has
//    them is an error, so a wrong file is not silently read as nothing. A row with "Case" / "Topic"
//    objects (MedPix 2.0 Case_topic.json) gives each of their text fields as "<Field>: <text>"
//    ("N/A" left out).
//  * a name starting with `All_QA_Pairs` (VQA-Med 2019): `image|question|answer` lines give the
//    question and the answer; the answer is everything after the second '|'.
//  * `*.tsv` with a header naming a `caption` column (ROCO captions.tsv): that column of each row.
//  * `*.csv` with a `<subject>#attribute#value` header (SLAKE's KG/en_*.csv): "<subject> <attribute>: <value>".
//  * anything else: plain text, one document per line ("\r\n" endings accepted).
// Throws medvqa::Error naming the file (and line or row) for unreadable or malformed input.
std::vector<std::string> corpus_from_file(const std::string& path);

// corpus_from_file over every path, documents in order.
std::vector<std::string> read_corpus_files(const std::vector<std::string>& paths);

}  // namespace medvqa::text
