#include <iostream>

#include "app/commands.h"
#include "data/readers.h"
#include "data/split.h"
#include "eval/audit.h"
#include "io/atomic_file.h"
#include "io/error.h"

namespace medvqa::app {
namespace {

struct Options {
  std::vector<std::string> train, eval;
  std::string lang = "en", out;
  double holdout_fraction = 0;
  uint64_t holdout_seed = 0;
  eval::AuditOptions audit;
};

// "slake:path/to/train.json" -> {"slake", "path/to/train.json"}.
std::pair<std::string, std::string> parse_split(const std::string& spec, const std::string& option) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    throw Error(option + " " + spec + ": expected FORMAT:PATH, e.g. vqa-rad:../shared/data/vqa-rad/trainset.json");
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

// A split file named on both sides is cut by image (--holdout-fraction) into its two sides, as
// training and `medvqa eval` cut VQA-RAD's train split.
std::vector<data::VqaExample> read_side(const std::string& spec, const std::string& option,
                                        const std::vector<std::string>& other_side, const Options& o) {
  const auto [format, path] = parse_split(spec, option);
  data::ReadOptions read;
  read.languages = parse_languages(o.lang);
  auto examples = data::read_vqa(format, path, "", read);
  bool on_both_sides = false;
  for (const auto& other : other_side) on_both_sides = on_both_sides || same_file(parse_split(other, "").second, path);
  if (!on_both_sides || o.holdout_fraction <= 0) return examples;
  auto split = data::split_by_image(examples, o.holdout_fraction, o.holdout_seed);
  return option == "--train" ? split.train : split.val;
}

int run(const Options& o) {
  std::vector<data::VqaExample> train;
  for (const auto& spec : o.train) {
    auto examples = read_side(spec, "--train", o.eval, o);
    train.insert(train.end(), examples.begin(), examples.end());
  }
  eval::Fingerprints fingerprints;
  eval::add_fingerprints(train, fingerprints);
  nlohmann::json splits = nlohmann::json::array();
  for (const auto& spec : o.eval) {
    auto examples = read_side(spec, "--eval", o.train, o);
    eval::add_fingerprints(examples, fingerprints);
    auto audit = eval::audit_split(train, examples, fingerprints, o.audit);
    std::cout << eval::format_audit(spec, audit, o.audit);
    auto entry = eval::to_json(audit);
    entry["eval"] = spec;
    splits.push_back(entry);
  }
  if (!o.out.empty()) {
    nlohmann::json report = {{"train", o.train},
                             {"languages", o.lang},
                             {"holdout_fraction", o.holdout_fraction},
                             {"holdout_seed", o.holdout_seed},
                             {"near_distance", o.audit.near_distance},
                             {"splits", splits}};
    io::write_file_atomically(o.out, report.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

Command add_audit(CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "audit",
      "What training splits give away about evaluation splits: shared images (identical files and "
      "near-duplicates by perceptual hash), questions repeated verbatim (and about the same image), "
      "evaluation answers no training question has");
  cmd->add_option("--train", o->train, "A training split as FORMAT:PATH (slake, vqa-rad, vqa-med-2019, pmc-vqa); repeatable")
      ->required();
  cmd->add_option("--eval", o->eval, "An evaluation split as FORMAT:PATH; repeatable, each audited against all --train")
      ->required();
  cmd->add_option("--lang", o->lang, "Languages to keep, comma-separated (SLAKE: en,zh), or all (default: en)");
  auto* fraction = cmd->add_option("--holdout-fraction", o->holdout_fraction,
                                   "A file given as both --train and --eval is cut by image: this fraction of "
                                   "its images is the evaluation side (as eval --holdout-fraction)")
                       ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--holdout-seed", o->holdout_seed, "Seed of the holdout split (default: 0)")->needs(fraction);
  cmd->add_option("--near-distance", o->audit.near_distance,
                  "Perceptual-hash bits (of 64) that may differ between near-duplicate images (default: 6)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--listed", o->audit.listed, "Image pairs listed per split, closest first (default: 10)");
  cmd->add_option("--out", o->out, "Also write the audit as JSON here (atomically)");
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace medvqa::app
