#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "app/commands.h"
#include "app/model_options.h"
#include "data/normalize.h"
#include "data/readers.h"
#include "data/split.h"
#include "eval/calibration.h"
#include "eval/compare.h"
#include "eval/floors.h"
#include "eval/html_report.h"
#include "eval/report.h"
#include "infer/answerer.h"
#include "infer/evaluate.h"
#include "io/atomic_file.h"
#include "io/error.h"

namespace medvqa::app {
namespace {
namespace fs = std::filesystem;

struct Options {
  std::string model, dataset, questions, images, lang = "en", holdout_side = "val";
  ModelOptions model_options;
  std::vector<std::string> train_answers;
  double holdout_fraction = 0;
  uint64_t holdout_seed = 0;
  size_t limit = 0;
  size_t history_turns = 0;
  int64_t batch_size = 8;
  bool rank_closed = false, rank_open = false, controls = false;
  std::string image_control = "real";
  int threads = 0;
  double min_confidence = 0;
  std::string out, predictions, reliability_diagram, html;
};

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool holdout(const Options& o) { return o.holdout_fraction > 0; }

std::vector<data::VqaExample> holdout_slice(const std::vector<data::VqaExample>& examples, const Options& o,
                                           const std::string& side) {
  auto split = data::split_by_image(examples, o.holdout_fraction, o.holdout_seed);
  return side == "val" ? split.val : split.train;
}

// The training questions of --train-answers: their answers are the nearest_candidate set, and
// they make the question-only prior. When a training file is the split the holdout slice was cut
// from, only its training side counts: the slice's own answers would make both a lookup.
std::vector<data::VqaExample> training_questions(const Options& o, const data::ReadOptions& read) {
  data::ReadOptions answers_only = read;
  answers_only.require_images = false;
  std::vector<data::VqaExample> training;
  for (const auto& path : o.train_answers) {
    data::ReadReport report;
    auto examples = data::read_vqa(o.dataset, path, "", answers_only, &report);
    if (!report.skipped.empty())
      std::cerr << "warning: " << path << ": " << report.skipped.size()
                << " rows skipped (first: " << report.skipped.front() << "); their answers are not candidates\n";
    if (holdout(o) && same_file(path, o.questions)) examples = holdout_slice(examples, o, "train");
    training.insert(training.end(), std::make_move_iterator(examples.begin()), std::make_move_iterator(examples.end()));
  }
  return training;
}

std::string describe_selection(const Options& o, size_t available) {
  std::vector<std::string> parts;
  if (holdout(o)) {
    std::ostringstream s;
    s << o.holdout_side << " side of a by-image holdout (fraction " << o.holdout_fraction << ", seed "
      << o.holdout_seed << ")";
    parts.push_back(s.str());
  }
  if (o.limit > 0 && o.limit < available) parts.push_back("first " + std::to_string(o.limit) + " questions");
  if (parts.empty()) return "all";
  std::string joined = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) joined += "; " + parts[i];
  return joined;
}

std::vector<std::string> languages_of(const std::vector<eval::Prediction>& predictions) {
  std::set<std::string> languages;
  for (const auto& p : predictions) languages.insert(p.language);
  return {languages.begin(), languages.end()};
}

// Prints progress to stderr at most every ten seconds, and once at the end.
infer::Progress progress_printer() {
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  return [start, last](size_t done, size_t total) mutable {
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last < std::chrono::seconds(10)) return;
    last = now;
    double seconds = std::chrono::duration<double>(now - start).count();
    std::cerr << "answered " << done << "/" << total << " questions in " << int(seconds) << " s ("
              << (seconds > 0 ? double(done) / seconds : 0.0) << " per second)\n";
  };
}

const std::string& with_parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  return path;
}

// x.predictions.jsonl (or x.jsonl, or x) -> x.<control>.predictions.jsonl
std::string control_predictions_path(const std::string& predictions, const std::string& control) {
  std::string stem = predictions;
  for (const std::string suffix : {".predictions.jsonl", ".jsonl"})
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
      stem.resize(stem.size() - suffix.size());
      break;
    }
  return stem + "." + control + ".predictions.jsonl";
}

int run_compare(const std::string& a, const std::string& b, const std::string& out) {
  const auto comparison = eval::compare_prediction_files(a, b);
  std::cout << eval::format_comparison(comparison);
  if (!out.empty()) io::write_file_atomically(with_parent_dir(out), eval::to_json(comparison).dump(2) + "\n");
  return 0;
}

// Fits the temperature on prediction files and writes calibration.json (for a model directory).
int run_calibrate(const std::vector<std::string>& files, const std::string& out) {
  std::vector<eval::TemperatureSample> samples;
  nlohmann::ordered_json fitted_on = nlohmann::ordered_json::array();
  size_t skipped = 0;
  for (const auto& f : files) {
    auto s = eval::read_temperature_samples(f, &skipped);
    fitted_on.push_back({{"predictions", f}, {"answers", s.size()}});
    samples.insert(samples.end(), s.begin(), s.end());
  }
  if (samples.empty())
    throw Error("eval calibrate: no answer in these files carries its temperature curve (written by medvqa eval for "
                "generated answers; ranked ones have none)");
  const auto fit = eval::fit_temperature(samples);
  eval::Calibration c;
  c.temperature = fit.temperature;
  c.fit = {{"method", "temperature of 33 log-spaced values in [0.25, 4] with the lowest binary cross-entropy of the "
                      "answers' confidence against their exact-match correctness"},
           {"fitted_on", fitted_on},
           {"answers", fit.questions},
           {"answers_without_curve", skipped},
           {"nll_before", fit.nll_before},
           {"nll_after", fit.nll_after},
           {"ece_before", fit.ece_before},
           {"ece_after", fit.ece_after},
           {"date", utc_now()}};
  std::printf("temperature %.4g fitted on %zu answers (%zu without a curve skipped): cross-entropy %.4f -> %.4f, "
              "expected calibration error %.4f -> %.4f\n",
              fit.temperature, fit.questions, skipped, fit.nll_before, fit.nll_after, fit.ece_before, fit.ece_after);
  io::write_file_atomically(with_parent_dir(out), c.to_json().dump(2) + "\n");
  std::cout << "calibration: " << out << "\n";
  return 0;
}

int run(const Options& o) {
  // Required unless `eval compare` runs (CLI11 would demand them of the subcommand too).
  if (o.dataset.empty()) throw Error("eval: --dataset is required (slake, vqa-rad, vqa-med-2019 or pmc-vqa)");
  if (o.questions.empty()) throw Error("eval: --questions is required (the split file, e.g. slake/validate.json)");
  set_threads(o.threads);
  data::ReadOptions read;
  read.languages = parse_languages(o.lang);
  data::ReadReport read_report;
  auto examples = data::read_vqa(o.dataset, o.questions, o.images, read, &read_report);
  std::cerr << "read " << examples.size() << " questions from " << o.questions << " (" << read_report.filtered
            << " in other languages left out, " << read_report.skipped.size() << " unusable rows skipped)\n";
  if (holdout(o)) examples = holdout_slice(examples, o, o.holdout_side);
  const std::string selection = describe_selection(o, examples.size());
  if (o.limit > 0 && o.limit < examples.size()) examples.resize(o.limit);
  if (examples.empty()) throw Error(o.questions + ": no questions to evaluate (selection: " + selection + ")");
  const auto control = infer::parse_image_control(o.image_control);
  if (o.controls && control != infer::ImageControl::kReal)
    throw Error("--controls answers with the real images and then with each control; drop --image-control");
  const auto training = training_questions(o, read);
  std::vector<std::string> candidates;
  std::vector<eval::TrainingQuestion> prior_questions;
  for (const auto& e : training) {
    candidates.push_back(e.answer);
    prior_questions.push_back({e.question, e.answer, e.answer_type});
  }

  const std::string model_dir = o.model.empty() ? default_model_dir() : o.model;
  auto answerer = load_answerer(model_dir, o.model_options);
  infer::AnswerOptions answer_options;
  answer_options.rank_closed = o.rank_closed;
  answer_options.min_confidence = o.min_confidence;
  if (o.rank_open) {
    if (candidates.empty()) throw Error("--rank-open ranks the answers of --train-answers; give a training split");
    std::set<std::string> answers;
    for (const auto& c : candidates) answers.insert(data::normalize_answer(c));
    answers.erase("");
    answer_options.open_candidates.assign(answers.begin(), answers.end());
  }
  // The real run keeps each answer's temperature curve, for `eval calibrate`; the controls need none.
  auto real_options = answer_options;
  real_options.keep_temperature_curve = true;
  const auto histories = o.history_turns > 0 ? infer::earlier_turns(examples, o.history_turns)
                                             : std::vector<std::vector<infer::Turn>>{};
  auto predictions =
      infer::predict(answerer, examples, o.batch_size, progress_printer(), real_options, control, histories);

  eval::ReportMeta meta;
  meta.dataset = o.dataset;
  meta.split_path = o.questions;
  meta.model_path = model_dir;
  meta.date = utc_now();
  meta.languages = languages_of(predictions);
  meta.selection = selection;
  meta.temperature = answerer.calibration().temperature;
  meta.min_confidence = o.min_confidence;
  meta.history_turns = o.history_turns;
  if (control != infer::ImageControl::kReal) meta.image_control = o.image_control;
  if (o.rank_closed || o.rank_open)
    meta.answering = std::string("closed: ") + (o.rank_closed ? "ranked" : "generated") + "; open: " +
                     (o.rank_open ? "ranked over " + std::to_string(answer_options.open_candidates.size()) +
                                        " training answers"
                                  : "generated");
  auto report = eval::evaluate(predictions, candidates, meta);
  if (!prior_questions.empty()) report.question_prior = eval::question_prior_exact_match(prior_questions, predictions);

  // The controls: the same questions, the same answering, other images. Their predictions go beside
  // the real ones (<name>.blank.predictions.jsonl) for `medvqa eval compare`.
  std::vector<eval::Report> control_reports;
  if (o.controls) {
    for (const char* name : {"blank", "shuffled", "none"}) {
      std::cerr << "control: " << name << " images\n";
      auto control_meta = meta;
      control_meta.image_control = name;
      control_reports.push_back(eval::evaluate(infer::predict(answerer, examples, o.batch_size, progress_printer(),
                                                              answer_options, infer::parse_image_control(name),
                                                              histories),
                                               candidates, control_meta));
      report.controls[name] = control_reports.back().total.exact_match;
    }
  }

  std::cout << eval::format_table(report);
  if (!o.out.empty()) {
    eval::write_report(report, with_parent_dir(o.out));
    std::cout << "report: " << o.out << "\n";
  }
  if (!o.reliability_diagram.empty()) {
    eval::write_reliability_diagram(report, with_parent_dir(o.reliability_diagram));
    std::cout << "reliability diagram: " << o.reliability_diagram << "\n";
  }
  if (!o.html.empty()) {
    eval::write_html_report(report, with_parent_dir(o.html));
    std::cout << "HTML report: " << o.html << "\n";
  }
  std::string predictions_path = o.predictions;
  if (predictions_path.empty() && !o.out.empty())
    predictions_path = fs::path(o.out).replace_extension(".predictions.jsonl").string();
  if (!predictions_path.empty()) {
    eval::write_predictions(report, with_parent_dir(predictions_path));
    std::cout << "predictions: " << predictions_path << "\n";
    for (const auto& c : control_reports) {
      const std::string path = control_predictions_path(predictions_path, c.meta.image_control);
      eval::write_predictions(c, path);
      std::cout << "predictions, " << c.meta.image_control << " images: " << path << "\n";
    }
  }
  return 0;
}

}  // namespace

Command add_eval(CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("eval",
                                  "Answer every question of a dataset split and score the answers: normalized exact "
                                  "match (the main metric) on closed, open and all questions, open-question token "
                                  "recall and nearest-candidate matching");
  cmd->add_option("--model", o->model, "Model directory (default: the shipped models/medvqa-small)");
  // Names and files are checked by the readers, so that mistakes exit 1 with a message naming them.
  cmd->add_option("--dataset", o->dataset, "Format of the split: slake, vqa-rad, vqa-med-2019 or pmc-vqa (required)");
  cmd->add_option("--questions", o->questions, "The split file, e.g. slake/validate.json (required)");
  cmd->add_option("--images", o->images, "Images folder (default: the release's layout beside the split file)");
  cmd->add_option("--lang", o->lang, "Languages to evaluate, comma-separated (SLAKE: en,zh), or all (default: en)");
  cmd->add_option("--train-answers", o->train_answers,
                  "Training split file(s) of the same dataset whose answers are the nearest-candidate set "
                  "and whose questions make the question-only prior (default: none; both are then reported "
                  "unavailable)");
  cmd->add_option("--image-control", o->image_control,
                  "Control run: answer every question with a blank gray image (blank), with the image of "
                  "another question of the split (shuffled), or with no image tokens at all (none) instead of "
                  "its own (default: real)")
      ->check(CLI::IsMember({"real", "blank", "shuffled", "none"}));
  auto* fraction = cmd->add_option("--holdout-fraction", o->holdout_fraction,
                                   "Evaluate on a by-image slice of the split holding this fraction of its images "
                                   "(e.g. 0.1 for a validation slice of VQA-RAD's train split)")
                       ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--holdout-side", o->holdout_side, "Which side of the holdout to evaluate: val (default) or train")
      ->check(CLI::IsMember({"train", "val"}))
      ->needs(fraction);
  cmd->add_option("--holdout-seed", o->holdout_seed, "Seed of the holdout split (default: 0)")->needs(fraction);
  cmd->add_option("--limit", o->limit, "Evaluate only the first N questions (default: all)");
  cmd->add_option("--history-turns", o->history_turns,
                  "Ask each question as a follow-up: after up to N earlier questions of the split about the same "
                  "image (same language, other question text), with their reference answers (default: 0, alone)");
  cmd->add_option("--batch-size", o->batch_size, "Questions per model call (default: 8)")->check(CLI::PositiveNumber);
  add_model_options(cmd, o->model_options);
  cmd->add_option("--threads", o->threads, "CPU threads (default: all cores)");
  cmd->add_flag("--rank-closed", o->rank_closed,
                "Answer closed questions with the most likely candidate (yes/no, or the options of an "
                "\"A or B\" question) instead of free generation");
  cmd->add_flag("--rank-open", o->rank_open,
                "Answer open questions with the most likely of the training answers (--train-answers) "
                "instead of free generation");
  cmd->add_flag("--controls", o->controls,
                "Also answer every question with a blank gray image, with another question's image and with "
                "no image tokens, and report those accuracies beside the real one (4x the time)");
  cmd->add_option("--min-confidence", o->min_confidence,
                  "Withhold answers less likely than this (answer \"uncertain\"); the report counts coverage and "
                  "the accuracy of the answers given (default: 0, answer everything)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--reliability-diagram", o->reliability_diagram,
                  "Write the reliability diagram (accuracy against confidence, 10 bins) here as a PNG");
  cmd->add_option("--out", o->out, "Write the JSON report here");
  cmd->add_option("--html", o->html,
                  "Write a self-contained HTML report here: accuracies with intervals, the floors and controls, "
                  "bars by question type, modality and language, the closed questions' confusion table and the "
                  "reliability diagram");
  cmd->add_option("--predictions", o->predictions,
                  "Write one JSON line per question here (default: beside --out, as <name>.predictions.jsonl)");
  struct CompareOptions {
    std::string a, b, out;
  };
  auto c = std::make_shared<CompareOptions>();
  auto* compare = cmd->add_subcommand("compare",
                                      "Paired comparison of two evaluations of the same questions (their "
                                      "--predictions files): exact-match difference B - A with a paired-bootstrap "
                                      "95% interval and McNemar's exact test, overall, closed and open");
  compare->add_option("a", c->a, "Predictions file A (JSONL of `medvqa eval`)")->required();
  compare->add_option("b", c->b, "Predictions file B, over the same questions")->required();
  compare->add_option("--out", c->out, "Also write the comparison as JSON here (atomically)");
  struct CalibrateOptions {
    std::vector<std::string> files;
    std::string out;
  };
  auto k = std::make_shared<CalibrateOptions>();
  auto* calibrate = cmd->add_subcommand(
      "calibrate",
      "Fit the model's confidence temperature on validation predictions (--predictions files of `medvqa eval`) "
      "and write it as calibration.json, which the model directory then uses for every answer's confidence");
  calibrate->add_option("predictions", k->files, "Prediction files (JSONL of `medvqa eval`)")->required();
  calibrate->add_option("--out", k->out, "Where to write it, e.g. MODEL_DIR/calibration.json (atomically)")->required();
  return {cmd, [o, c, compare, k, calibrate]() {
            if (compare->parsed()) return run_compare(c->a, c->b, c->out);
            if (calibrate->parsed()) return run_calibrate(k->files, k->out);
            return run(*o);
          }};
}

}  // namespace medvqa::app
