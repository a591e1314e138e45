#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <optional>

#include "app/commands.h"
#include "app/model_options.h"
#include "image/image.h"
#include "image/heatmap_overlay.h"
#include "infer/answerer.h"
#include "infer/heatmap.h"
#include "io/atomic_file.h"
#include "io/json_text.h"

namespace medvqa::app {

Command add_ask(CLI::App& root) {
  struct Options {
    std::string model, image, question, window, heatmap, heatmap_method = "attention";
    ModelOptions model_options;
    std::optional<double> window_center, window_width;
    int max_new_tokens = 0, threads = 0, frame = -1;
    double temperature = 0, min_confidence = 0;
    bool json = false, rank_closed = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("ask", "Answer a question about one image (JPEG, PNG or DICOM)");
  cmd->add_option("--model", o->model, "Model directory (default: the shipped models/medvqa-small)");
  cmd->add_option("--image", o->image, "Image file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--question,-q", o->question, "The question, e.g. \"Is there a pneumothorax?\"")->required();
  cmd->add_option("--window", o->window, "DICOM: a window preset (lung, mediastinum, brain, bone, abdomen) instead of "
                                        "the file's own window");
  cmd->add_option("--window-center", o->window_center, "DICOM: window center (with --window-width; overrides --window)");
  cmd->add_option("--window-width", o->window_width, "DICOM: window width");
  cmd->add_option("--frame", o->frame, "DICOM: frame of a multi-frame image (default: the middle one)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Longest answer in tokens (default: the model's)");
  cmd->add_option("--temperature", o->temperature, "Sampling temperature; 0 answers greedily")->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--min-confidence", o->min_confidence,
                  "Answer \"uncertain\" when the model's answer is less likely than this (default: 0, always answer)")
      ->check(CLI::Range(0.0, 1.0));
  add_model_options(cmd, o->model_options);
  cmd->add_option("--threads", o->threads, "CPU threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print a JSON object instead of text (with --heatmap, it carries the map's values)");
  cmd->add_option("--heatmap", o->heatmap,
                  "Write where the model looked for its answer, blended over the image, to this PNG file");
  cmd->add_option("--heatmap-method", o->heatmap_method,
                  "attention (the Q-Former's cross-attention, rolled out and weighted by the answer's gradient) or "
                  "gradcam (Grad-CAM on the vision tower's last block)")
      ->check(CLI::IsMember({"attention", "gradcam"}));
  cmd->add_flag("--rank-closed", o->rank_closed,
                "Answer a closed question with its most likely candidate answer instead of free generation");
  return {cmd, [o]() {
    set_threads(o->threads);
    std::string dir = o->model.empty() ? default_model_dir() : o->model;
    auto answerer = load_answerer(dir, o->model_options);
    image::DecodeOptions decode;
    decode.window = image::choose_window(o->window, o->window_center, o->window_width);
    decode.frame = o->frame;
    auto image = image::load_image(o->image, decode);
    infer::AnswerOptions options;
    options.max_new_tokens = o->max_new_tokens;
    options.temperature = o->temperature;
    options.rank_closed = o->rank_closed;
    options.min_confidence = o->min_confidence;
    auto a = answerer.answer(image, o->question, options);
    std::optional<infer::Heatmap> heatmap;
    if (!o->heatmap.empty()) {
      infer::Explainer explainer(answerer);
      heatmap = explainer.explain_answer(image, o->question, a, infer::parse_heatmap_method(o->heatmap_method));
      if (!heatmap) std::cerr << "medvqa ask: the answer is empty, so there is no heat map to write\n";
    }
    if (heatmap) {
      auto png = image::encode_png(
          image::overlay_heatmap(image::model_view(image), heatmap->values, int(heatmap->grid)));
      io::write_file_atomically(o->heatmap, std::string(png.begin(), png.end()));
    }
    if (o->json) {
      nlohmann::json j = {{"model", dir},
                          {"image", o->image},
                          {"question", o->question},
                          {"answer", a.text},
                          {"confidence", a.confidence},
                          {"uncertain", a.uncertain},
                          {"usage", {{"prompt_tokens", a.prompt_tokens}, {"completion_tokens", a.completion_tokens}}},
                          {"timings", {{"image_seconds", a.image_seconds}, {"generate_seconds", a.generate_seconds}}},
                          {"notice", infer::kResearchNotice}};
      if (!a.closed_probabilities.empty()) {
        j["closed_probabilities"] = nlohmann::json::object();
        for (const auto& [candidate, p] : a.closed_probabilities) j["closed_probabilities"][candidate] = p;
        j["generated"] = a.generated;
      }
      if (a.uncertain) j["withheld_answer"] = a.withheld_answer;
      if (heatmap) {
        j["heatmap"] = infer::to_json(*heatmap);
        j["heatmap"]["image"] = o->heatmap;
      }
      std::cout << io::json_text(j, 2) << "\n";
    } else {
      std::cout << a.text << "\n";
      char confidence[96];
      std::snprintf(confidence, sizeof confidence, "confidence %.2f", a.confidence);
      std::cout << confidence;
      if (a.uncertain) std::cout << ", below --min-confidence: the model's answer was \"" << a.withheld_answer << "\"";
      std::cout << "\n";
      if (heatmap) std::cout << o->heatmap_method << " heat map: " << o->heatmap << "\n";
      std::cout << "\n(" << infer::kResearchNotice << ")\n";
    }
    return 0;
  }};
}

}  // namespace medvqa::app
