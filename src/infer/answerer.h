#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/calibration.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "infer/conversation.h"
#include "infer/text_streamer.h"
#include "infer/image_cache.h"
#include "model/medvqa_model.h"
#include "text/tokenizer.h"

namespace medvqa::infer {

// Every answer carries this: the model's output is not medical advice (and BLOOM's RAIL license
// forbids using it as such).
extern const char* const kResearchNotice;
// The answer given instead of the model's when its confidence is below AnswerOptions::min_confidence.
extern const char* const kUncertainAnswer;

struct AnswerOptions {
  int64_t max_new_tokens = 0;  // 0: the model config's max_new_tokens
  double temperature = 0.0;    // 0: greedy
  uint64_t seed = 0;
  // For closed questions (yes/no, or "A or B"), answer with the candidate the model finds most
  // likely instead of the free generation; the probabilities are returned either way. Off by
  // default: on validation the shipped model's generation was as good (SLAKE-en + VQA-RAD slice
  // closed: 356 vs 354 of 594 correct; see its model card).
  bool rank_closed = false;
  // Open questions: answer with the most likely of these answers (normalized, e.g. every answer
  // of the training split) instead of the free generation. Empty: generate.
  std::vector<std::string> open_candidates;
  // The question-alone control: no image tokens at all, the language model sees the prompt only
  // (the pixels are not used).
  bool without_image = false;
  // Answers whose confidence is below this are withheld: the text is kUncertainAnswer and
  // withheld_answer keeps the model's. 0: every answer is given.
  double min_confidence = 0;
  // Keep each generated answer's log-probability at every eval::calibration_temperatures() value,
  // for fitting the model's temperature (medvqa eval calibrate).
  bool keep_temperature_curve = false;
};

struct Answer {
  std::string text;
  int64_t prompt_tokens = 0;      // image queries + prompt tokens
  int64_t completion_tokens = 0;  // generated tokens, EOS excluded
  double image_seconds = 0;       // preprocessing + vision tower + Q-Former
  bool image_cached = false;      // the image's encoding came from the answerer's image cache
  double generate_seconds = 0;
  // Closed questions: each candidate answer with its probability under the model (normalized over
  // the candidates). Empty for open questions.
  std::vector<std::pair<std::string, double>> closed_probabilities;
  // How likely the model finds its answer: for a generated answer, the probability of its tokens
  // and of the token that ended it, each step's logits divided by the model's calibration
  // temperature (calibration.json; 1 without one); for a ranked candidate (rank_closed,
  // open_candidates), its probability among the candidates.
  double confidence = 0;
  // With keep_temperature_curve, a generated answer's log-probability at each of
  // eval::calibration_temperatures(); empty for a ranked candidate.
  std::vector<double> log_probability_by_temperature;
  bool uncertain = false;       // confidence < min_confidence: text is kUncertainAnswer
  std::string withheld_answer;  // the model's answer when it was withheld
  std::string generated;        // the free generation, also when a ranked candidate is the answer
};

// A loaded medvqa model directory (config.json, model.safetensors, tokenizer.json) that answers
// questions about images.
class Answerer {
 public:
  // `weights`: how the language model's weight matrices are stored (packed for the CPU kernels);
  // by default model::weight_format_for(dtype, device).
  static Answerer load(const std::string& model_dir, torch::Dtype dtype = torch::kFloat32,
                       torch::Device device = torch::kCPU, std::optional<model::WeightFormat> weights = {});
  Answerer(model::MedVqaModel model, text::Tokenizer tokenizer, std::string model_dir, torch::Device device,
           eval::Calibration calibration = {});

  // One batch: images[i] with questions[i], after the earlier turns histories[i] when given (empty:
  // none for any). Prompts are left-padded so they end together. sinks[i], when given and set,
  // receives answer i's text while it is generated (TextStreamer's pieces); only for answers that
  // are their generation (no rank_closed, open_candidates or min_confidence: an error otherwise).
  std::vector<Answer> answer(const std::vector<image::Image>& images, const std::vector<std::string>& questions,
                             const AnswerOptions& options = {},
                             const std::vector<std::vector<Turn>>& histories = {},
                             const std::vector<TextSink>& sinks = {});
  Answer answer(const image::Image& image, const std::string& question, const AnswerOptions& options = {});
  // The same for images already preprocessed: `pixels` [B,3,S,S] normalized as pixels() makes
  // them (the training loop's validation answers through here from its decoded image cache).
  std::vector<Answer> answer_pixels(const torch::Tensor& pixels, const std::vector<std::string>& questions,
                                    const AnswerOptions& options = {},
                                    const std::vector<std::vector<Turn>>& histories = {},
                                    const std::vector<TextSink>& sinks = {});

  // The prompt for a question after its earlier turns, in the config's template
  // (conversation_prompt).
  std::string prompt(const std::string& question, const std::vector<Turn>& history = {}) const;
  // [B,T] ids and mask of left-padded prompts.
  std::pair<torch::Tensor, torch::Tensor> encode_prompts(const std::vector<std::string>& prompts) const;
  torch::Tensor pixels(const std::vector<image::Image>& images) const;
  // Probabilities of candidate answers for one prompt given its image prefix [1,Q,H]: each
  // candidate's sequence log-likelihood (its tokens and EOS), softmax-normalized over candidates.
  std::vector<double> candidate_probabilities(const torch::Tensor& prefix, const std::string& prompt,
                                              const std::vector<std::string>& candidates);
  // The same for several prompts at once (one prefill of the prompts, one pass over every
  // candidate continuing them): `image` is each one's row of the prefix [B,Q,H].
  struct CandidateQuery {
    int64_t image = 0;
    std::string prompt;
    std::vector<std::string> candidates;
  };
  std::vector<std::vector<double>> candidate_probabilities(const torch::Tensor& prefix,
                                                           const std::vector<CandidateQuery>& queries);

  model::MedVqaModel& model() { return model_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  const std::string& model_dir() const { return model_dir_; }
  torch::Device device() const { return device_; }
  torch::Dtype compute_dtype() const { return model_->query_tokens.scalar_type(); }
  const eval::Calibration& calibration() const { return calibration_; }
  // Keep the encodings of the last `entries` distinct images (0, the default: none), so that
  // answer() with an image seen before skips the vision tower and the Q-Former (follow-ups).
  void set_image_cache(size_t entries) { image_cache_ = ImagePrefixCache(entries); }
  const ImagePrefixCache& image_cache() const { return image_cache_; }

 private:
  // Each question's prompt (prompt()), after its earlier turns when histories are given.
  std::vector<std::string> prompts(const std::vector<std::string>& questions,
                                   const std::vector<std::vector<Turn>>& histories) const;
  // Generation and scoring for a batch whose image prefixes [B,Q,H] are already computed.
  std::vector<Answer> answer_prefix(const torch::Tensor& prefix, double image_seconds,
                                    const std::vector<std::string>& questions, const std::vector<std::string>& prompts,
                                    const AnswerOptions& options, const std::vector<TextSink>& sinks);

  // Candidate rows (one answer continuing one prompt) per language-model pass.
  static constexpr size_t kCandidateRowsPerPass = 512;

  // Each query's candidates scored as continuations of a prompt already in `cache`: query i's
  // image prefix and prompt fill row rows[i] (positions [0,T), `mask` [B,T], left-padded so every
  // prompt ends at T-1 with the token last_ids[row]).
  std::vector<std::vector<double>> score_candidates(const model::KvCache& cache, const torch::Tensor& mask,
                                                    const torch::Tensor& last_ids, const std::vector<int64_t>& rows,
                                                    const std::vector<std::vector<std::string>>& candidates);

  model::MedVqaModel model_;
  text::Tokenizer tokenizer_;
  std::string model_dir_;
  torch::Device device_;
  eval::Calibration calibration_;
  image::PreprocessConfig preprocess_;
  ImagePrefixCache image_cache_;
};

}  // namespace medvqa::infer
