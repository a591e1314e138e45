#include "eval/audit.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "data/normalize.h"
#include "image/perceptual_hash.h"
#include "io/error.h"
#include "io/fnv1a.h"
#include "io/mapped_file.h"

namespace medvqa::eval {
namespace {

bool is_closed(const data::VqaExample& ex) { return ex.answer_type == "CLOSED"; }

std::string percent_of(size_t part, size_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * double(part) / double(whole) : 0.0);
  return buf;
}

std::set<std::string> images_of(const std::vector<data::VqaExample>& examples) {
  std::set<std::string> images;
  for (const auto& ex : examples) images.insert(ex.image_path);
  return images;
}

}  // namespace

void add_fingerprints(const std::vector<data::VqaExample>& examples, Fingerprints& fingerprints) {
  for (const std::string& path : images_of(examples)) {
    if (fingerprints.count(path)) continue;
    auto file = io::MappedFile::open(path);
    ImageFingerprint fingerprint;
    fingerprint.content = io::fnv1a(file->data(), file->size());
    fingerprint.perceptual = image::perceptual_hash(image::decode_image(file->data(), file->size(), path));
    fingerprints[path] = fingerprint;
  }
}

SplitAudit audit_split(const std::vector<data::VqaExample>& train, const std::vector<data::VqaExample>& eval,
                       const Fingerprints& fingerprints, const AuditOptions& options) {
  auto fingerprint = [&](const std::string& path) -> const ImageFingerprint& {
    auto it = fingerprints.find(path);
    if (it == fingerprints.end()) throw Error("audit: no fingerprint for " + path + " (add_fingerprints first)");
    return it->second;
  };
  const std::set<std::string> train_images = images_of(train), eval_images = images_of(eval);
  SplitAudit audit;
  audit.train_questions = train.size();
  audit.train_images = train_images.size();
  audit.eval_questions = eval.size();
  audit.eval_images = eval_images.size();

  // Each evaluation image against every training image: identical bytes, else the closest picture.
  std::map<std::string, std::vector<std::string>> shared;  // eval image -> matching training images
  std::vector<ImageMatch> matches;
  for (const std::string& e : eval_images) {
    const ImageFingerprint& ef = fingerprint(e);
    ImageMatch best{e, "", 65, false};
    for (const std::string& t : train_images) {
      const ImageFingerprint& tf = fingerprint(t);
      const bool identical = tf.content == ef.content;
      const int distance = image::hash_distance(tf.perceptual, ef.perceptual);
      if (identical || distance <= options.near_distance) shared[e].push_back(t);
      if (std::make_pair(!identical, distance) < std::make_pair(!best.identical, best.distance))
        best = {e, t, distance, identical};
    }
    if (best.identical) ++audit.identical_images;
    else if (best.distance <= options.near_distance) ++audit.near_duplicate_images;
    if (best.identical || best.distance <= options.near_distance) matches.push_back(best);
  }
  std::stable_sort(matches.begin(), matches.end(), [](const ImageMatch& a, const ImageMatch& b) {
    return std::make_pair(!a.identical, a.distance) < std::make_pair(!b.identical, b.distance);
  });
  if (matches.size() > options.listed) matches.resize(options.listed);
  audit.matches = matches;

  std::map<std::string, std::map<std::string, std::set<std::string>>> answers_by_question;  // q -> image -> answers
  std::set<std::string> train_answers;
  for (const auto& ex : train) {
    const std::string answer = data::normalize_answer(ex.answer);
    answers_by_question[data::normalize_answer(ex.question)][ex.image_path].insert(answer);
    train_answers.insert(answer);
  }
  for (const auto& ex : eval) {
    const bool closed = is_closed(ex);
    ++(closed ? audit.eval_closed : audit.eval_open);
    const auto images = shared.find(ex.image_path);
    if (images != shared.end()) ++audit.questions_on_shared_images;
    const std::string answer = data::normalize_answer(ex.answer);
    if (!train_answers.count(answer)) {
      ++audit.unseen_answers;
      ++(closed ? audit.unseen_closed : audit.unseen_open);
    }
    const auto asked = answers_by_question.find(data::normalize_answer(ex.question));
    if (asked == answers_by_question.end()) continue;
    ++audit.repeated_questions;
    if (images == shared.end()) continue;
    bool on_shared = false, same_answer = false;
    for (const std::string& t : images->second) {
      auto it = asked->second.find(t);
      if (it == asked->second.end()) continue;
      on_shared = true;
      same_answer = same_answer || it->second.count(answer);
    }
    audit.repeated_on_shared_image += on_shared;
    audit.repeated_with_same_answer += same_answer;
  }
  return audit;
}

nlohmann::json to_json(const SplitAudit& a) {
  nlohmann::json matches = nlohmann::json::array();
  for (const auto& m : a.matches)
    matches.push_back({{"eval_image", m.eval_image}, {"train_image", m.train_image}, {"distance", m.distance},
                       {"identical", m.identical}});
  return {{"train_questions", a.train_questions},
          {"train_images", a.train_images},
          {"eval_questions", a.eval_questions},
          {"eval_images", a.eval_images},
          {"eval_closed", a.eval_closed},
          {"eval_open", a.eval_open},
          {"identical_images", a.identical_images},
          {"near_duplicate_images", a.near_duplicate_images},
          {"questions_on_shared_images", a.questions_on_shared_images},
          {"repeated_questions", a.repeated_questions},
          {"repeated_on_shared_image", a.repeated_on_shared_image},
          {"repeated_with_same_answer", a.repeated_with_same_answer},
          {"unseen_answers", a.unseen_answers},
          {"unseen_closed", a.unseen_closed},
          {"unseen_open", a.unseen_open},
          {"matches", matches}};
}

std::string format_audit(const std::string& name, const SplitAudit& a, const AuditOptions& options) {
  std::ostringstream out;
  out << name << ": " << a.eval_questions << " questions on " << a.eval_images << " images, against "
      << a.train_questions << " training questions on " << a.train_images << " images\n";
  out << "  images shared with training: " << a.identical_images << " identical, " << a.near_duplicate_images
      << " near-duplicates (perceptual hash within " << options.near_distance << " of 64 bits), of "
      << a.eval_images << "; " << a.questions_on_shared_images << " questions ("
      << percent_of(a.questions_on_shared_images, a.eval_questions) << ") are about them\n";
  out << "  questions asked verbatim in training: " << a.repeated_questions << " ("
      << percent_of(a.repeated_questions, a.eval_questions) << "); about the same image: "
      << a.repeated_on_shared_image << ", with the same answer there: " << a.repeated_with_same_answer << "\n";
  out << "  answers no training question has: " << a.unseen_answers << " ("
      << percent_of(a.unseen_answers, a.eval_questions) << "); closed " << a.unseen_closed << " of "
      << a.eval_closed << ", open " << a.unseen_open << " of " << a.eval_open << "\n";
  for (const auto& m : a.matches)
    out << "    " << m.eval_image << "  ~  " << m.train_image << "  ("
        << (m.identical ? std::string("identical") : "distance " + std::to_string(m.distance)) << ")\n";
  return out.str();
}

}  // namespace medvqa::eval
