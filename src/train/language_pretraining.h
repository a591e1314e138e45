#pragma once
#include <memory>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/pretraining.h"

namespace medvqa::train {

// The documents of a language-model stage's sources: format "text" reads a file as
// text::corpus_from_file does (ROCO captions.tsv, MedPix Case_topic.json and Descriptions.json,
// SLAKE's knowledge graph, plain text); a VQA format gives each question with its answer in the
// model's prompt template ("Question: … Answer: …"), a caption format each caption. Weights
// repeat documents as they repeat samples.
std::vector<std::string> read_documents(const std::vector<DataSource>& sources, const std::string& prompt_template,
                                        bool verbose);

// Stage kind "language_model": BLOOM (the model config's text_config) trained from scratch on
// text alone, next-token cross-entropy over sequences of `sequence_length` tokens cut from the
// documents joined by EOS, as RadBloomz continued bloomz on radiology reports. A
// `validation_fraction` of the documents (chosen by a hash of their text, so the same text is
// always on the same side) is held out; validation reports their loss and perplexity, and the
// lowest loss is the best. The result is a transformers BLOOM directory (model::save_bloom)
// that a model config's "language_weights" loads.
std::unique_ptr<PretrainingObjective> make_language_objective(const TrainConfig& config, bool verbose);

}  // namespace medvqa::train
