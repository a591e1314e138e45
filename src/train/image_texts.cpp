#include "train/image_texts.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace medvqa::train {

std::vector<ImageTexts> group_by_image(const std::vector<Sample>& samples) {
  std::vector<ImageTexts> images;
  std::map<std::string, size_t> index;
  std::vector<std::set<std::string>> seen;
  for (const auto& s : samples) {
    auto [it, fresh] = index.emplace(s.image_path, images.size());
    if (fresh) {
      images.push_back({s.image_path, {}, {}});
      seen.emplace_back();
    }
    ImageTexts& image = images[it->second];
    auto add = [&](const std::string& statement) {
      if (!statement.empty() && seen[it->second].insert(statement).second) image.statements.push_back(statement);
    };
    add(s.question.empty() ? s.target : s.question + " " + s.target);
    for (const auto& [key, value] : s.example.image_attributes) {
      add(key + ": " + value);
      bool known = std::any_of(image.attributes.begin(), image.attributes.end(),
                               [&](const auto& a) { return a.first == key; });
      if (!known) image.attributes.emplace_back(key, value);
    }
  }
  return images;
}

std::string draw_text(const ImageTexts& image, int64_t max_statements, std::mt19937_64& rng) {
  std::vector<size_t> order(image.statements.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::string text;
  for (size_t k = 0; k < order.size() && int64_t(k) < max_statements; ++k)
    text += (k ? "; " : "") + image.statements[order[k]];
  return text;
}

}  // namespace medvqa::train
