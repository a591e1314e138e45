#include "infer/answerer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "data/closed.h"
#include "io/error.h"
#include "model/pack_for_inference.h"
#include "model/pretrained.h"

namespace medvqa::infer {

const char* const kResearchNotice =
    "Machine-generated answer from a research model; not validated for clinical use and not medical advice.";
const char* const kUncertainAnswer = "uncertain";

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// [B, temperatures.size()]: each row's log-probability of its generated answer with every step's
// logits (`scores`, n × [B,V]) divided by each temperature, over the steps of its `lengths[i]`
// tokens and of the token that ended it (none after: the rest of `tokens` [B,n] is filler).
torch::Tensor answer_log_probabilities(const std::vector<torch::Tensor>& scores, const torch::Tensor& tokens,
                                       const std::vector<int64_t>& lengths, const std::vector<double>& temperatures) {
  const int64_t B = tokens.size(0), n = int64_t(scores.size());
  auto out = torch::zeros({B, int64_t(temperatures.size())}, torch::kFloat64);
  if (n == 0) return out;
  auto logits = torch::stack(scores, 0).to(torch::kFloat32);  // [n,B,V]
  auto targets = tokens.t().to(logits.device()).unsqueeze(-1);   // [n,B,1]
  auto counted = torch::zeros({n, B}, torch::kFloat32);
  for (int64_t i = 0; i < B; ++i) counted.select(1, i).narrow(0, 0, std::min(n, lengths[size_t(i)] + 1)).fill_(1);
  counted = counted.to(logits.device());
  for (size_t k = 0; k < temperatures.size(); ++k) {
    auto logp = torch::log_softmax(logits / temperatures[k], -1).gather(-1, targets).squeeze(-1);  // [n,B]
    out.select(1, int64_t(k)).copy_((logp * counted).sum(0).to(torch::kCPU, torch::kFloat64));
  }
  return out;
}

}  // namespace

Answerer Answerer::load(const std::string& dir, torch::Dtype dtype, torch::Device device,
                        std::optional<model::WeightFormat> weights) {
  auto model = model::load_medvqa(dir, dtype, device);
  model::pack_for_inference(*model, weights.value_or(model::weight_format_for(dtype, device)));
  auto tokenizer = text::Tokenizer::from_file((std::filesystem::path(dir) / "tokenizer.json").string());
  if (tokenizer.vocab_size() > model->config.text.vocab_size)
    throw Error(dir + ": tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                " tokens but the language model only " + std::to_string(model->config.text.vocab_size));
  return Answerer(model, std::move(tokenizer), dir, device, eval::Calibration::for_model(dir));
}

Answerer::Answerer(model::MedVqaModel model, text::Tokenizer tokenizer, std::string model_dir, torch::Device device,
                   eval::Calibration calibration)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      model_dir_(std::move(model_dir)),
      device_(device),
      calibration_(std::move(calibration)) {
  const auto& v = model_->config.vision;
  preprocess_.image_size = int(v.image_size);
  preprocess_.mean = v.mean;
  preprocess_.std = v.std;
}

std::string Answerer::prompt(const std::string& question, const std::vector<Turn>& history) const {
  return conversation_prompt(model_->config.prompt_template, question,
                             model_->config.follow_ups_in_prompt ? history : std::vector<Turn>());
}

std::pair<torch::Tensor, torch::Tensor> Answerer::encode_prompts(const std::vector<std::string>& prompts) const {
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 0;
  for (const auto& p : prompts) {
    ids.push_back(tokenizer_.encode(p));
    longest = std::max(longest, ids.back().size());
  }
  const int64_t pad = model_->config.text.pad_token_id;
  auto input_ids = torch::full({int64_t(ids.size()), int64_t(longest)}, pad, torch::kLong);
  auto mask = torch::zeros({int64_t(ids.size()), int64_t(longest)}, torch::kLong);
  for (size_t i = 0; i < ids.size(); ++i) {
    int64_t offset = int64_t(longest - ids[i].size());  // left padding: prompts end together
    if (ids[i].empty()) continue;
    input_ids[i].narrow(0, offset, int64_t(ids[i].size())).copy_(torch::tensor(ids[i], torch::kLong));
    mask[i].narrow(0, offset, int64_t(ids[i].size())).fill_(1);
  }
  return {input_ids, mask};
}

torch::Tensor Answerer::pixels(const std::vector<image::Image>& images) const {
  return image::preprocess_batch(images, preprocess_).to(device_, model_->query_tokens.scalar_type());
}

std::vector<std::string> Answerer::prompts(const std::vector<std::string>& questions,
                                           const std::vector<std::vector<Turn>>& histories) const {
  if (!histories.empty() && histories.size() != questions.size())
    throw Error(std::to_string(histories.size()) + " histories for " + std::to_string(questions.size()) + " questions");
  std::vector<std::string> out;
  for (size_t i = 0; i < questions.size(); ++i)
    out.push_back(histories.empty() ? prompt(questions[i]) : prompt(questions[i], histories[i]));
  return out;
}

std::vector<Answer> Answerer::answer(const std::vector<image::Image>& images, const std::vector<std::string>& questions,
                                     const AnswerOptions& options, const std::vector<std::vector<Turn>>& histories,
                                     const std::vector<TextSink>& sinks) {
  if (images.size() != questions.size())
    throw Error("got " + std::to_string(images.size()) + " images for " + std::to_string(questions.size()) +
                " questions");
  if (images.empty()) return {};
  if (image_cache_.capacity() == 0 || options.without_image) {
    auto t0 = std::chrono::steady_clock::now();
    auto batch = pixels(images);
    const double preprocess_seconds = seconds_since(t0);
    auto answers = answer_pixels(batch, questions, options, histories, sinks);
    for (auto& a : answers) a.image_seconds += preprocess_seconds;
    return answers;
  }
  // With the cache: only the images it does not hold are preprocessed and encoded, once each.
  const auto prompted = prompts(questions, histories);
  torch::InferenceMode inference;
  auto t0 = std::chrono::steady_clock::now();
  // Every row this batch needs, held here: a batch of more distinct images than the cache holds
  // evicts some of its own.
  std::vector<uint64_t> keys;
  std::vector<bool> cached;
  std::unordered_map<uint64_t, torch::Tensor> rows_by_key;
  std::vector<image::Image> missing;
  std::vector<uint64_t> missing_keys;
  for (const auto& image : images) {
    keys.push_back(content_hash(image));
    auto hit = image_cache_.find(keys.back());
    cached.push_back(hit.has_value());
    if (hit) {
      rows_by_key[keys.back()] = *hit;
    } else if (std::find(missing_keys.begin(), missing_keys.end(), keys.back()) == missing_keys.end()) {
      missing.push_back(image);
      missing_keys.push_back(keys.back());
    }
  }
  if (!missing.empty()) {
    auto encoded = model_->image_prefix(pixels(missing));
    for (size_t i = 0; i < missing.size(); ++i) {
      rows_by_key[missing_keys[i]] = encoded[int64_t(i)].unsqueeze(0).clone();
      image_cache_.insert(missing_keys[i], rows_by_key[missing_keys[i]]);
    }
  }
  std::vector<torch::Tensor> rows;
  for (auto key : keys) rows.push_back(rows_by_key.at(key));
  auto answers = answer_prefix(torch::cat(rows, 0), seconds_since(t0), questions, prompted, options, sinks);
  for (size_t i = 0; i < answers.size(); ++i) answers[i].image_cached = cached[i];
  return answers;
}

std::vector<Answer> Answerer::answer_pixels(const torch::Tensor& pixel_batch, const std::vector<std::string>& questions,
                                            const AnswerOptions& options,
                                            const std::vector<std::vector<Turn>>& histories,
                                            const std::vector<TextSink>& sinks) {
  if (pixel_batch.dim() != 4 || pixel_batch.size(0) != int64_t(questions.size()))
    throw Error("answer_pixels: expected pixels [" + std::to_string(questions.size()) + ",3,S,S] for " +
                std::to_string(questions.size()) + " questions, got " + c10::str(pixel_batch.sizes()));
  if (questions.empty()) return {};
  const auto prompted = prompts(questions, histories);
  torch::InferenceMode inference;
  auto t0 = std::chrono::steady_clock::now();
  auto prefix = options.without_image
                    ? torch::zeros({pixel_batch.size(0), 0, model_->config.text.hidden_size},
                                   torch::TensorOptions().device(device_).dtype(model_->query_tokens.scalar_type()))
                    : model_->image_prefix(pixel_batch.to(device_, model_->query_tokens.scalar_type()));
  return answer_prefix(prefix, seconds_since(t0), questions, prompted, options, sinks);
}

std::vector<Answer> Answerer::answer_prefix(const torch::Tensor& prefix, double image_seconds,
                                            const std::vector<std::string>& questions,
                                            const std::vector<std::string>& prompts, const AnswerOptions& options,
                                            const std::vector<TextSink>& sinks) {
  torch::InferenceMode inference;
  auto [ids, mask] = encode_prompts(prompts);

  auto t1 = std::chrono::steady_clock::now();
  auto [embeds, full_mask] = model_->language_inputs(prefix, ids.to(device_), mask.to(device_));
  model::GenerationOptions g;
  g.max_new_tokens = options.max_new_tokens > 0 ? options.max_new_tokens : model_->config.max_new_tokens;
  g.eos_token_id = model_->config.text.eos_token_id;
  g.pad_token_id = model_->config.text.pad_token_id;
  g.temperature = options.temperature;
  g.seed = options.seed;
  g.keep_scores = true;  // for the answers' confidence
  // Streamed answers get each piece of text as soon as its token is chosen.
  std::vector<std::optional<TextStreamer>> streamers(questions.size());
  std::vector<bool> ended(questions.size(), false);
  for (size_t i = 0; i < sinks.size() && i < questions.size(); ++i)
    if (sinks[i]) streamers[i].emplace(tokenizer_);
  const bool streaming = std::any_of(streamers.begin(), streamers.end(), [](const auto& s) { return s.has_value(); });
  if (streaming && (options.rank_closed || !options.open_candidates.empty() || options.min_confidence > 0))
    throw Error("an answer can be streamed only as it is generated: not with rank_closed, open candidates or min_confidence");
  if (streaming)
    g.on_token = [&](const torch::Tensor& next) {
      auto cpu = next.to(torch::kCPU);
      auto id = cpu.accessor<int64_t, 1>();
      for (size_t i = 0; i < streamers.size(); ++i) {
        // An answer ends at its first EOS or pad, as its text below does, whatever the row decodes after.
        if (!streamers[i] || ended[i]) continue;
        if (id[int64_t(i)] == g.eos_token_id || id[int64_t(i)] == g.pad_token_id) {
          ended[i] = true;
          continue;
        }
        if (auto piece = streamers[i]->push(id[int64_t(i)]); !piece.empty()) sinks[i](piece);
      }
    };
  auto generated = model::generate(model_->language_model, embeds, full_mask, g);
  auto tokens = generated.tokens.to(torch::kCPU);
  double generate_seconds = seconds_since(t1);

  // Closed questions (and open ones when there is an answer list): their candidates scored for
  // the whole batch at once, continuing the prompts that generation has already run.
  std::vector<int64_t> ranked_rows;
  std::vector<std::vector<std::string>> ranked;
  std::vector<int64_t> ranked_index(questions.size(), -1);
  std::vector<bool> ranked_open(questions.size(), false);
  for (size_t i = 0; i < questions.size(); ++i) {
    auto candidates = data::closed_candidates(questions[i]);
    if (candidates.empty() && !options.open_candidates.empty()) {
      candidates = options.open_candidates;
      ranked_open[i] = true;
    }
    if (candidates.empty()) continue;
    ranked_index[i] = int64_t(ranked.size());
    ranked_rows.push_back(int64_t(i));
    ranked.push_back(std::move(candidates));
  }
  auto ranked_probs = score_candidates(*generated.cache, full_mask, ids.select(1, -1), ranked_rows, ranked);

  auto token_rows = tokens.accessor<int64_t, 2>();
  std::vector<std::vector<int64_t>> outputs;
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    std::vector<int64_t> out;
    for (int64_t j = 0; j < tokens.size(1); ++j) {
      int64_t t = token_rows[i][j];
      if (t == g.eos_token_id || t == g.pad_token_id) break;
      out.push_back(t);
    }
    lengths.push_back(int64_t(out.size()));
    outputs.push_back(std::move(out));
  }
  std::vector<double> temperatures = {calibration_.temperature};
  if (options.keep_temperature_curve) {
    const auto& grid = eval::calibration_temperatures();
    temperatures.insert(temperatures.end(), grid.begin(), grid.end());
  }
  auto log_probabilities = answer_log_probabilities(generated.scores, generated.tokens, lengths, temperatures);
  auto log_probability = log_probabilities.accessor<double, 2>();

  auto prompt_lengths = full_mask.sum(1).to(torch::kCPU);
  std::vector<Answer> answers;
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    const auto& out = outputs[size_t(i)];
    Answer a;
    a.generated = trim(tokenizer_.decode(out, /*skip_special_tokens=*/true));
    a.text = a.generated;
    a.confidence = std::exp(log_probability[i][0]);
    for (size_t k = 1; k < temperatures.size(); ++k) a.log_probability_by_temperature.push_back(log_probability[i][int64_t(k)]);
    if (ranked_index[size_t(i)] >= 0) {
      const auto& candidates = ranked[size_t(ranked_index[size_t(i)])];
      const auto& probs = ranked_probs[size_t(ranked_index[size_t(i)])];
      size_t best = 0;
      for (size_t k = 0; k < candidates.size(); ++k)
        if (probs[k] > probs[best]) best = k;
      if (!ranked_open[size_t(i)])
        for (size_t k = 0; k < candidates.size(); ++k) a.closed_probabilities.emplace_back(candidates[k], probs[k]);
      if (ranked_open[size_t(i)] || options.rank_closed) {
        a.text = candidates[best];
        a.confidence = probs[best];
        a.log_probability_by_temperature.clear();  // the curve is the generation's, not this candidate's
      }
    }
    if (a.confidence < options.min_confidence) {
      a.uncertain = true;
      a.withheld_answer = a.text;
      a.text = kUncertainAnswer;
    }
    a.prompt_tokens = prompt_lengths[i].item<int64_t>();
    a.completion_tokens = int64_t(out.size());
    a.image_seconds = image_seconds;
    a.generate_seconds = generate_seconds;
    if (streamers[size_t(i)])
      if (auto rest = streamers[size_t(i)]->finish(a.text); !rest.empty()) sinks[size_t(i)](rest);
    answers.push_back(std::move(a));
  }
  return answers;
}

std::vector<double> Answerer::candidate_probabilities(const torch::Tensor& prefix, const std::string& prompt,
                                                      const std::vector<std::string>& candidates) {
  return candidate_probabilities(prefix, std::vector<CandidateQuery>{{0, prompt, candidates}}).front();
}

std::vector<std::vector<double>> Answerer::candidate_probabilities(const torch::Tensor& prefix,
                                                                   const std::vector<CandidateQuery>& queries) {
  if (queries.empty()) return {};
  torch::InferenceMode inference;
  std::vector<std::string> prompts;
  std::vector<int64_t> images, rows;
  std::vector<std::vector<std::string>> candidates;
  for (const auto& q : queries) {
    prompts.push_back(q.prompt);
    images.push_back(q.image);
    rows.push_back(int64_t(rows.size()));
    candidates.push_back(q.candidates);
  }
  auto [ids, mask] = encode_prompts(prompts);
  auto row_prefix = prefix.index_select(0, torch::tensor(images, torch::kLong).to(prefix.device()));
  auto [embeds, full_mask] = model_->language_inputs(row_prefix, ids.to(device_), mask.to(device_));
  model::KvCache cache(model_->config.text, embeds.size(0), embeds.size(1), embeds.options());
  model_->language_model->transformer(embeds, full_mask, &cache);
  return score_candidates(cache, full_mask, ids.select(1, -1), rows, candidates);
}

std::vector<std::vector<double>> Answerer::score_candidates(const model::KvCache& cache, const torch::Tensor& mask,
                                                            const torch::Tensor& last_ids,
                                                            const std::vector<int64_t>& rows,
                                                            const std::vector<std::vector<std::string>>& candidates) {
  if (rows.empty()) return {};
  torch::InferenceMode inference;
  const int64_t T = mask.size(1);
  auto row_index = torch::tensor(rows, torch::kLong);
  if (!mask.to(torch::kCPU).index_select(0, row_index).select(1, T - 1).eq(1).all().item<bool>())
    throw Error("candidate scoring continues a prompt's last token; a prompt is empty");
  // Each candidate row feeds [last prompt token ; answer tokens], which predict [answer tokens ;
  // EOS]: the cache lends the first T-1 prompt positions, and the last one runs again so that its
  // prediction of the first answer token comes out with the others.
  std::vector<std::vector<int64_t>> inputs, targets;
  std::vector<int64_t> cache_rows;
  auto last = last_ids.to(torch::kCPU);
  std::map<std::string, std::vector<int64_t>> encoded;  // open answer lists repeat for every question
  for (size_t q = 0; q < rows.size(); ++q) {
    const int64_t last_id = last[rows[q]].item<int64_t>();
    for (const auto& c : candidates[q]) {
      auto [it, fresh] = encoded.try_emplace(c);
      if (fresh) {
        it->second = tokenizer_.encode(" " + c);
        it->second.push_back(model_->config.text.eos_token_id);
      }
      const auto& answer = it->second;
      std::vector<int64_t> input = {last_id};
      input.insert(input.end(), answer.begin(), answer.end() - 1);
      inputs.push_back(std::move(input));
      targets.push_back(answer);
      cache_rows.push_back(rows[q]);
    }
  }
  // In chunks of rows, so that the cache rows copied for the candidates stay small even when
  // every question of a batch ranks hundreds of open answers.
  std::vector<double> token_logp;
  auto& lm = model_->language_model;
  for (size_t r0 = 0; r0 < inputs.size(); r0 += kCandidateRowsPerPass) {
    const size_t r1 = std::min(inputs.size(), r0 + kCandidateRowsPerPass);
    size_t longest = 0;
    for (size_t r = r0; r < r1; ++r) longest = std::max(longest, inputs[r].size());
    const int64_t R = int64_t(r1 - r0), L = int64_t(longest);
    auto ids = torch::full({R, L}, model_->config.text.pad_token_id, torch::kLong);
    auto input_mask = torch::zeros_like(ids);
    for (int64_t r = 0; r < R; ++r) {
      const auto& input = inputs[r0 + size_t(r)];
      ids[r].narrow(0, 0, int64_t(input.size())).copy_(torch::tensor(input, torch::kLong));
      input_mask[r].narrow(0, 0, int64_t(input.size())).fill_(1);
    }
    std::vector<int64_t> chunk_rows(cache_rows.begin() + int64_t(r0), cache_rows.begin() + int64_t(r1));
    auto index = torch::tensor(chunk_rows, torch::kLong).to(device_);
    auto continued = cache.rows(index, T - 1, T - 1 + L);
    auto full_mask =
        torch::cat({mask.to(device_).index_select(0, index).narrow(1, 0, T - 1), input_mask.to(device_)}, 1);
    auto hidden = lm->transformer(lm->embed(ids.to(device_)), full_mask, &continued);
    // Logits only where an answer token is predicted, for all rows in one product.
    std::vector<int64_t> positions, flat_targets;
    for (int64_t r = 0; r < R; ++r)
      for (size_t j = 0; j < targets[r0 + size_t(r)].size(); ++j) {
        positions.push_back(r * L + int64_t(j));
        flat_targets.push_back(targets[r0 + size_t(r)][j]);
      }
    auto h = hidden.reshape({R * L, -1}).index_select(0, torch::tensor(positions, torch::kLong).to(device_));
    auto logp = torch::log_softmax(lm->logits(h).to(torch::kFloat32), -1)
                    .gather(1, torch::tensor(flat_targets, torch::kLong).to(device_).unsqueeze(1))
                    .squeeze(1)
                    .to(torch::kCPU, torch::kFloat64)
                    .contiguous();
    token_logp.insert(token_logp.end(), logp.data_ptr<double>(), logp.data_ptr<double>() + logp.numel());
  }
  std::vector<std::vector<double>> result;
  size_t row = 0, token = 0;
  for (const auto& list : candidates) {
    std::vector<double> scores;
    for (size_t k = 0; k < list.size(); ++k, ++row) {
      double sum = 0;
      for (size_t j = 0; j < targets[row].size(); ++j) sum += token_logp[token++];
      scores.push_back(sum);
    }
    auto probs = torch::softmax(torch::tensor(scores, torch::kFloat64), 0);
    result.emplace_back(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.numel());
  }
  return result;
}

Answer Answerer::answer(const image::Image& image, const std::string& question, const AnswerOptions& options) {
  return answer(std::vector<image::Image>{image}, std::vector<std::string>{question}, options).front();
}

}  // namespace medvqa::infer
