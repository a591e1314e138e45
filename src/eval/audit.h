#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/example.h"

namespace medvqa::eval {

// What a training split gives away about an evaluation split: the same pictures (byte-identical
// files, or near-duplicates by perceptual hash: re-encoded, resized, re-windowed copies), the same
// questions, the same question about the same picture, and evaluation answers that no training
// question has (which a model that only reproduces training answers can never get right).

// Two fingerprints per image file: its bytes' hash and its picture's perceptual hash.
struct ImageFingerprint {
  uint64_t content = 0;
  uint64_t perceptual = 0;
};
using Fingerprints = std::map<std::string, ImageFingerprint>;  // by image path

// Adds the fingerprint of every image `examples` name that `fingerprints` lacks (each file read
// and decoded once). Throws medvqa::Error naming a file that cannot be read or decoded.
void add_fingerprints(const std::vector<data::VqaExample>& examples, Fingerprints& fingerprints);

struct AuditOptions {
  int near_distance = 6;  // at most this many differing hash bits (of 64) make a near-duplicate
  size_t listed = 10;     // image pairs listed in the report, closest first
};

struct ImageMatch {
  std::string eval_image, train_image;
  int distance = 0;        // perceptual-hash bits that differ
  bool identical = false;  // the same bytes
};

struct SplitAudit {
  size_t train_questions = 0, train_images = 0, eval_questions = 0, eval_images = 0;
  size_t eval_closed = 0, eval_open = 0;
  // Evaluation images with a byte-identical training image; others with a near-duplicate.
  size_t identical_images = 0, near_duplicate_images = 0;
  size_t questions_on_shared_images = 0;  // evaluation questions about either kind
  // Evaluation questions whose text (normalized as answers are) was asked in training; of them,
  // asked about the same or a near-duplicate image; of those, with the same answer there.
  size_t repeated_questions = 0, repeated_on_shared_image = 0, repeated_with_same_answer = 0;
  // Evaluation questions whose normalized answer no training question has.
  size_t unseen_answers = 0, unseen_closed = 0, unseen_open = 0;
  std::vector<ImageMatch> matches;  // the first AuditOptions::listed, closest first
};

// `fingerprints` must hold every image of both splits (add_fingerprints).
SplitAudit audit_split(const std::vector<data::VqaExample>& train, const std::vector<data::VqaExample>& eval,
                       const Fingerprints& fingerprints, const AuditOptions& options = {});

nlohmann::json to_json(const SplitAudit& audit);
// A few lines a person reads, headed by `name`.
std::string format_audit(const std::string& name, const SplitAudit& audit, const AuditOptions& options);

}  // namespace medvqa::eval
