#include "infer/heatmap.h"

#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "model/pretrained.h"

namespace medvqa::infer {
namespace {

// Scales a map to max 1 (a map without any positive value stays 0).
std::vector<float> to_unit_max(const torch::Tensor& map) {
  auto m = map.to(torch::kCPU, torch::kFloat32).clamp_min(0).contiguous();
  const float peak = m.max().item<float>();
  if (peak > 0 && std::isfinite(peak)) m = m / peak;
  else m.zero_();
  return std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
}

}  // namespace

HeatmapMethod parse_heatmap_method(const std::string& name) {
  if (name == "attention") return HeatmapMethod::kAttention;
  if (name == "gradcam") return HeatmapMethod::kGradCam;
  throw Error("unknown heat map method '" + name + "' (choose attention or gradcam)");
}

std::string heatmap_method_name(HeatmapMethod method) {
  return method == HeatmapMethod::kAttention ? "attention" : "gradcam";
}

nlohmann::json to_json(const Heatmap& h) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t r = 0; r < h.grid; ++r)
    rows.push_back(std::vector<float>(h.values.begin() + r * h.grid, h.values.begin() + (r + 1) * h.grid));
  nlohmann::json j = {{"method", heatmap_method_name(h.method)}, {"grid", h.grid}, {"answer", h.answer}, {"values", rows}};
  if (h.crop_side > 0) j["region"] = {{"x", h.crop_x}, {"y", h.crop_y}, {"side", h.crop_side}};
  return j;
}

Explainer::Explainer(const Answerer& answerer)
    : Explainer(answerer, model::load_medvqa(answerer.model_dir(), answerer.compute_dtype(), answerer.device())) {}

Explainer::Explainer(const Answerer& answerer, model::MedVqaModel model) : answerer_(answerer), model_(std::move(model)) {
  model_->eval();
}

Heatmap Explainer::explain(const image::Image& image, const std::string& question, const std::string& answer,
                           HeatmapMethod method) {
  auto h = explain_pixels(answerer_.pixels({image}), question, answer, method);
  // preprocess() takes the center square of the shorter side (center_crop's rounding).
  h.crop_side = std::min(image.width, image.height);
  h.crop_x = int(std::nearbyint((image.width - h.crop_side) / 2.0));
  h.crop_y = int(std::nearbyint((image.height - h.crop_side) / 2.0));
  return h;
}

std::optional<Heatmap> Explainer::explain_answer(const image::Image& image, const std::string& question,
                                                 const Answer& answer, HeatmapMethod method) {
  const std::string& given = answer.uncertain ? answer.withheld_answer : answer.text;
  if (trim(given).empty()) return std::nullopt;
  return explain(image, question, given, method);
}

Heatmap Explainer::explain_pixels(const torch::Tensor& pixels, const std::string& question, const std::string& answer,
                                  HeatmapMethod method) {
  const std::string target = trim(answer);
  if (target.empty()) throw Error("there is no answer to explain (it is empty)");
  if (pixels.dim() != 4 || pixels.size(0) != 1)
    throw Error("explain: expected pixels [1,3,S,S], got " + c10::str(pixels.sizes()));
  std::lock_guard<std::mutex> lock(mutex_);
  torch::AutoGradMode grad_mode(true);
  auto& m = *model_;
  const auto& tokenizer = answerer_.tokenizer();

  // Gradients are taken with respect to activations, so the pixels carry requires_grad: the
  // graph exists even when every weight is frozen.
  auto x = pixels.to(m.query_tokens.device(), m.query_tokens.scalar_type()).detach().requires_grad_(true);
  std::vector<torch::Tensor> vit_states;
  auto image_tokens = m.visual->trunk->forward_features(x, &vit_states);
  const auto& last_block = vit_states.back();  // [1,1+N,D], before the final norm
  model::QFormerAttentions attentions;
  auto queries = m.query_tokens.expand({1, -1, -1});
  auto query_output = m.qformer->forward(queries, image_tokens, torch::Tensor(), nullptr, &attentions);  // [1,Q,H]
  auto prefix = m.language_projection(query_output);

  // The answer teacher-forced after the prompt, as training scores it: " answer" then EOS.
  auto prompt_ids = tokenizer.encode(answerer_.prompt(question));
  auto answer_ids = tokenizer.encode(" " + target);
  answer_ids.push_back(m.config.text.eos_token_id);
  std::vector<int64_t> ids(prompt_ids);
  ids.insert(ids.end(), answer_ids.begin(), answer_ids.end() - 1);
  auto input_ids = torch::tensor(ids, torch::kLong).unsqueeze(0);
  auto [embeds, mask] = m.language_inputs(prefix, input_ids, torch::ones_like(input_ids));
  auto logits = m.language_model->logits(m.language_model->transformer(embeds, mask))[0].to(torch::kFloat32);
  const int64_t first = m.config.num_query_tokens + int64_t(prompt_ids.size()) - 1;
  auto targets = torch::tensor(answer_ids, torch::kLong).to(logits.device()).unsqueeze(-1);
  auto log_probability =
      torch::log_softmax(logits.narrow(0, first, int64_t(answer_ids.size())), -1).gather(-1, targets).sum();
  auto grads = torch::autograd::grad({log_probability}, {query_output, last_block}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);

  const int64_t S = image_tokens.size(1), N = S - 1;  // image tokens: class token, then the patches
  const auto grid = int64_t(std::lround(std::sqrt(double(N))));
  if (grid * grid != N) throw Error("explain: " + std::to_string(N) + " image patches do not form a square grid");
  Heatmap h;
  h.method = method;
  h.grid = grid;
  h.answer = target;
  if (method == HeatmapMethod::kAttention) {
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(logits.device());
    const int64_t Q = query_output.size(1);
    auto relevance = torch::zeros({Q, S}, f32);  // which image tokens each query carries
    size_t cross = 0;
    for (size_t l = 0; l < attentions.attentions.size(); ++l) {
      auto self = attentions.attentions[l][0].detach().to(torch::kFloat32).mean(0);  // [Q,Q], heads averaged
      relevance = (0.5 * (self + torch::eye(Q, f32))).matmul(relevance);  // the residual keeps half
      if (!m.qformer->encoder->layers[l]->crossattention.is_empty())
        relevance = relevance + attentions.cross_attentions[cross++][0].detach().to(torch::kFloat32).mean(0);
    }
    // Each query weighted by how strongly the answer responds to it: the norm of the gradient at
    // its output. Not gradient × activation: the prefix goes through BLOOM's embedding LayerNorm,
    // which makes the answer nearly invariant to a query's scale, so that product is near zero
    // with a random sign (and its positive part often empty) whatever the query carries.
    torch::Tensor weights = torch::zeros({Q}, f32);
    if (grads[0].defined()) weights = grads[0].detach()[0].to(torch::kFloat32).norm(2, -1);
    h.values = to_unit_max(weights.matmul(relevance).narrow(0, 1, N));
  } else {
    torch::Tensor cam = torch::zeros({N});
    if (grads[1].defined()) {
      auto activations = last_block.detach()[0].to(torch::kFloat32).narrow(0, 1, N);  // [N,D]
      auto gradient = grads[1][0].to(torch::kFloat32).narrow(0, 1, N);
      cam = activations.matmul(gradient.mean(0));
    }
    h.values = to_unit_max(cam);
  }
  return h;
}

}  // namespace medvqa::infer
