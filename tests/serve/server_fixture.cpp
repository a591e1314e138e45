#include "server_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "serve/base64.h"
#include "testing/tiny_answerer.h"

namespace medvqa::serve::fixture {

infer::Answerer& tiny_answerer() {
  // Large weights: varied answers and clear closed probabilities.
  static infer::Answerer* answerer = new infer::Answerer(testing::tiny_answerer(0.5, 11));
  return *answerer;
}

// The tiny answerer's model is not packed, so it explains its own answers.
infer::Explainer& tiny_explainer() {
  static infer::Explainer* explainer = new infer::Explainer(tiny_answerer(), tiny_answerer().model());
  return *explainer;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> images() {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(testing::data_root() + "/vqa-rad/images")) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  v.resize(std::min<size_t>(v.size(), 8));
  return v;
}

std::string data_uri(const std::string& bytes, const std::string& mime) {
  return "data:" + mime + ";base64," + base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

nlohmann::json chat_body(const std::string& question, const std::string& image_uri) {
  return {{"model", "tiny"},
          {"messages",
           {{{"role", "system"}, {"content", "You are a radiology assistant."}},
            {{"role", "user"},
             {"content", {{{"type", "text"}, {"text", question}}, {{"type", "image_url"}, {"image_url", {{"url", image_uri}}}}}}}}},
          {"max_tokens", 6}};
}


httplib::MultipartFormDataItems form(const std::string& image_bytes, const std::string& question,
                                     const std::vector<std::pair<std::string, std::string>>& extra) {
  httplib::MultipartFormDataItems items = {{"image", image_bytes, "scan", "application/octet-stream"}};
  if (!question.empty()) items.push_back({"question", question, "", ""});
  for (const auto& [k, v] : extra) items.push_back({k, v, "", ""});
  return items;
}

void expect_error(const httplib::Result& r, int status, const std::string& fragment, const std::string& what) {
  ASSERT_TRUE(r) << what;
  EXPECT_EQ(r->status, status) << what << ": " << r->body;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r->body;
  EXPECT_NE(j["error"]["message"].get<std::string>().find(fragment), std::string::npos)
      << what << ": " << j["error"]["message"];
}

}  // namespace medvqa::serve::fixture
