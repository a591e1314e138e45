// How a chat's messages become the question, its image and the earlier turns.
#include "serve/openai.h"

#include <gtest/gtest.h>

#include "serve/base64.h"

namespace medvqa::serve {
namespace {

using json = nlohmann::json;

json image_part(const std::string& bytes) {
  const std::string uri =
      "data:image/png;base64," + base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return {{"type", "image_url"}, {"image_url", {{"url", uri}}}};
}

json user(const std::string& text, const std::string& image = "") {
  json content = json::array();
  if (!text.empty()) content.push_back({{"type", "text"}, {"text", text}});
  if (!image.empty()) content.push_back(image_part(image));
  return {{"role", "user"}, {"content", content}};
}

json assistant(const json& content) { return {{"role", "assistant"}, {"content", content}}; }

ChatRequest parse(const json& messages) { return parse_chat_request({{"messages", messages}}, 256); }

TEST(ChatConversation, AnsweredUserTurnsPrecedeTheQuestion) {
  auto r = parse({{{"role", "system"}, {"content", "You are a radiologist."}}, user("Which organ?", "A"),
                  assistant("liver"), user("Is it enlarged?")});
  EXPECT_EQ(r.question, "Is it enlarged?");
  EXPECT_EQ(std::string(r.image.begin(), r.image.end()), "A");
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_EQ(r.history[0].question, "Which organ?");
  EXPECT_EQ(r.history[0].answer, "liver");
}

TEST(ChatConversation, TurnsWithoutQuestionOrAnswerAddNothing) {
  // An image-only message, an assistant message with tool calls and no content, a withheld answer.
  auto r = parse({user("", "A"), assistant("Got it."), user("Which organ?"), {{"role", "assistant"}, {"content", nullptr}},
                  user("Which side?"), assistant("uncertain"), user("Is it enlarged?")});
  EXPECT_TRUE(r.history.empty());
  EXPECT_EQ(r.question, "Is it enlarged?");
  // Text parts of an assistant message count; other part types are skipped.
  auto parts = parse({user("Which organ?", "A"),
                      assistant(json::array({{{"type", "text"}, {"text", "liver"}}, {{"type", "refusal"}, {"refusal", "-"}}})),
                      user("Is it enlarged?")});
  ASSERT_EQ(parts.history.size(), 1u);
  EXPECT_EQ(parts.history[0].answer, "liver");
}

TEST(ChatConversation, AnotherImageStartsAfresh) {
  auto r = parse({user("Which organ?", "A"), assistant("liver"), user("Is it enlarged?", "B")});
  EXPECT_TRUE(r.history.empty());
  EXPECT_EQ(std::string(r.image.begin(), r.image.end()), "B");
  auto same = parse({user("Which organ?", "A"), assistant("liver"), user("Is it enlarged?", "A")});
  EXPECT_EQ(same.history.size(), 1u);
}

TEST(ChatConversation, EndingWithAnAnswerIsAnError) {
  try {
    parse({user("Which organ?", "A"), assistant("liver")});
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_NE(std::string(e.what()).find("already answered"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace medvqa::serve
