#pragma once
#include <string>
#include <vector>

#include "model/medvqa_model.h"

namespace medvqa::model {

// Weight averaging ("model soups", Wortsman et al. 2022; checkpoint averaging): runs fine-tuned
// from one initialisation stay in one loss basin, where the mean of their weights tends to
// generalise better than each run. Replaces the parameters and floating-point buffers of
// `models[0]` by sum_i weights[i] * models[i] (weights normalised to sum to 1), computed in fp32.
// Every model must have the same parameter names and shapes; `labels` name the models in the
// error that reports the first mismatch.
void average_weights(std::vector<MedVqaModel>& models, std::vector<double> weights,
                     const std::vector<std::string>& labels);

}  // namespace medvqa::model
