#pragma once
#include <vector>

#include "image/image.h"

namespace medvqa::image {

// What a heat map is drawn on: the square the model sees (the center crop of the image's shorter
// side, as preprocess() takes it), in RGB, shrunk to at most `max_side` pixels.
Image model_view(const Image& image, int max_side = 512);

// `view` (RGB, as model_view makes it) with a map of grid × grid values in [0, 1] (row-major from
// the top-left patch) blended over it: each pixel's value bilinearly interpolated between patch
// centres, coloured from blue (low) to red (high), with opacity `opacity` × value, so that where
// the map is 0 the image shows through unchanged.
Image overlay_heatmap(const Image& view, const std::vector<float>& values, int grid, double opacity = 0.6);

}  // namespace medvqa::image
