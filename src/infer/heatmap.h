#pragma once
// Where the model looked for an answer: a map over the image's patches, by one of two methods.
//
// attention  The Q-Former's cross-attention from its queries to the image patches, rolled out
//            through its layers (each layer's query self-attention, with its residual, mixes
//            which query carries which patch; each cross-attention adds its own), then summed
//            over the final queries weighted by how much each drives the answer: the norm of
//            the gradient of the answer's log-probability at that query's Q-Former output. It
//            shows which patches the queries read; it does not show what the vision
//            tower had already moved between patches before (ViT self-attention mixes tokens).
// gradcam    Grad-CAM on the vision tower's last block: each feature weighted by the mean
//            gradient of the answer's log-probability over the patches, the positive part of
//            the weighted sum per patch. It shows where features that raise the answer's
//            probability sit; at a 7×7 or 14×14 patch grid it is coarse, and it misses
//            evidence that lowers the other answers without raising this one.
// Neither is a segmentation or a proof of what the model "knows"; both are research aids.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"
#include "infer/answerer.h"

namespace medvqa::infer {

enum class HeatmapMethod { kAttention, kGradCam };
HeatmapMethod parse_heatmap_method(const std::string& name);  // "attention" or "gradcam"; else an error naming it
std::string heatmap_method_name(HeatmapMethod method);

struct Heatmap {
  HeatmapMethod method = HeatmapMethod::kAttention;
  int64_t grid = 0;           // patches per side of the model's square input (the image's center crop)
  std::vector<float> values;  // grid × grid, row-major from the top-left patch, in [0, 1] with max 1
                              // (all 0 when nothing raises the answer's probability)
  std::string answer;         // the answer whose log-probability was explained
  // Where the grid lies in the original image, in its pixels: the square the model sees (set by
  // Explainer::explain; 0 from explain_pixels).
  int crop_x = 0, crop_y = 0, crop_side = 0;
};

// {"method", "grid", "answer", "values": grid rows of grid values, "region": {"x", "y", "side"}}:
// the form ask --json and the API return.
nlohmann::json to_json(const Heatmap& heatmap);

// Explains answers of `answerer`'s model. The answerer's weights are packed for inference and
// carry no gradients, so the explainer holds a second, plain copy of the model in the answerer's
// compute dtype (for the small preset 33 MB in float32). Thread-safe: explanations run one at a
// time.
class Explainer {
 public:
  // The copy loaded from the answerer's model directory.
  explicit Explainer(const Answerer& answerer);
  // Explaining with `model` itself (e.g. the answerer's own, when it is not packed).
  Explainer(const Answerer& answerer, model::MedVqaModel model);

  // The map for `answer` (as the model would generate it) to `question` about `image`.
  Heatmap explain(const image::Image& image, const std::string& question, const std::string& answer,
                  HeatmapMethod method);
  // The map for the answer `answer` gave, or withheld for its low confidence; none for an empty one.
  std::optional<Heatmap> explain_answer(const image::Image& image, const std::string& question, const Answer& answer,
                                        HeatmapMethod method);
  // The same as explain for a preprocessed image [1,3,S,S] (Answerer::pixels).
  Heatmap explain_pixels(const torch::Tensor& pixels, const std::string& question, const std::string& answer,
                         HeatmapMethod method);

 private:
  const Answerer& answerer_;
  model::MedVqaModel model_;
  std::mutex mutex_;
};

}  // namespace medvqa::infer
