#pragma once
#include <memory>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/pretraining.h"
#include "train/image_texts.h"

namespace medvqa::train {

// Stage kind "contrastive": the vision tower pre-trained as BiomedCLIP's was, by CLIP's
// symmetric contrastive loss between image and text embeddings with a learned temperature, here
// against a small BLOOM text tower (config "text_tower"). Pairs with the same image or the same
// text in a batch count as matches. Validation: image-to-text and text-to-image recall@1/@5 over
// the validation images (each with one fixed text), and linear probes (logistic regression on the
// frozen image embeddings, fitted on the training images, scored on the validation images) for
// every image attribute both sides have (SLAKE's modality and location). Selection metric: the
// mean of image-to-text recall@1, recall@5 and the probe accuracies. The result is an open_clip
// directory (model::save_open_clip) that a model config's "vision_weights" loads.
std::unique_ptr<PretrainingObjective> make_contrastive_objective(const TrainConfig& config, bool verbose);

}  // namespace medvqa::train
