// medvqa serve over loopback with a tiny model: the OpenAI chat API (plain and streamed),
// /v1/answer with JPEG and DICOM, every class of malformed request, auth, concurrent clients with
// and without batching, graceful stop, and the static page.
#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <thread>

#include "image/image.h"
#include "serve/base64.h"
#include "serve/server.h"
#include "server_fixture.h"
#include "testing/fixtures.h"

namespace medvqa::serve {
namespace {

using json = nlohmann::json;
using namespace fixture;

std::string direct_answer(const std::string& image, const std::string& question, int64_t max_tokens = 6) {
  infer::AnswerOptions o;
  o.max_new_tokens = max_tokens;
  return tiny_answerer().answer(image::load_image(image), question, o).text;
}

TEST(Server, ChatCompletionAnswersAsTheModelDoes) {
  Running s;
  auto c = s.client();
  const std::string image = images()[0];
  auto r = c.Post("/v1/chat/completions", chat_body("Is there a fracture?", data_uri(read_bytes(image))).dump(),
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], direct_answer(image, "Is there a fracture?"));
  EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
            j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
  EXPECT_NE(j["notice"].get<std::string>().find("clinical"), std::string::npos);
  EXPECT_EQ(j["medvqa"]["closed_probabilities"].size(), 2u);  // yes / no
  const double confidence = j["medvqa"]["confidence"].get<double>();
  EXPECT_GT(confidence, 0);
  EXPECT_FALSE(j["medvqa"]["uncertain"].get<bool>());

  // Above the answer's confidence the answer is withheld, and says so.
  auto body = chat_body("Is there a fracture?", data_uri(read_bytes(image)));
  body["min_confidence"] = std::min(1.0, confidence * 1.5 + 1e-6);
  auto withheld = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(withheld);
  ASSERT_EQ(withheld->status, 200) << withheld->body;
  auto w = json::parse(withheld->body);
  EXPECT_EQ(w["choices"][0]["message"]["content"], infer::kUncertainAnswer);
  EXPECT_TRUE(w["medvqa"]["uncertain"].get<bool>());
  EXPECT_EQ(w["medvqa"]["withheld_answer"], j["choices"][0]["message"]["content"]);
}

// A follow-up: the earlier turn goes into the prompt in the model's template, so the answer is
// the model's answer to that conversation, not to the last question alone.
TEST(Server, FollowUpQuestionsAreAnsweredInContext) {
  Running s;
  auto c = s.client();
  const std::string image = images()[0];
  auto body = chat_body("Which organ is shown?", data_uri(read_bytes(image)));
  auto first = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const auto f = json::parse(first->body);
  const std::string answer = f["choices"][0]["message"]["content"];
  body["messages"].push_back({{"role", "assistant"}, {"content", answer}});
  body["messages"].push_back({{"role", "user"}, {"content", "Is it enlarged?"}});
  auto second = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200) << second->body;
  const auto j = json::parse(second->body);
  const std::vector<infer::Turn> history = {{"Which organ is shown?", answer}};
  auto answerer = tiny_answerer();
  infer::AnswerOptions o;
  o.max_new_tokens = 6;
  const auto direct = answerer.answer({image::load_image(image)}, {"Is it enlarged?"}, o, {history});
  EXPECT_EQ(j["choices"][0]["message"]["content"], direct.at(0).text);
  EXPECT_EQ(j["usage"]["prompt_tokens"], direct.at(0).prompt_tokens);
  const int64_t alone = answerer.answer(image::load_image(image), "Is it enlarged?", o).prompt_tokens;
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int64_t>(), alone);
  // The image was encoded for the first question and comes from the cache for the follow-up.
  EXPECT_FALSE(f["medvqa"]["timings"]["image_cached"].get<bool>());
  EXPECT_TRUE(j["medvqa"]["timings"]["image_cached"].get<bool>());

  // A conversation that ends with its answer has no question left.
  body["messages"].push_back({{"role", "assistant"}, {"content", "no"}});
  auto answered = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 400);
  EXPECT_NE(answered->body.find("already answered"), std::string::npos) << answered->body;
}

// The events of a streamed completion: its text, finish reason and last chunk (with usage and
// medvqa's fields).
struct Streamed {
  std::string text, finish;
  json last;
};

Streamed read_events(const std::string& body) {
  Streamed out;
  std::vector<std::string> events;
  for (size_t at = 0, next; (next = body.find("\n\n", at)) != std::string::npos; at = next + 2)
    events.push_back(body.substr(at, next - at));
  EXPECT_GE(events.size(), 3u) << body;
  EXPECT_EQ(events.back(), "data: [DONE]");
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i].rfind("data: ", 0), 0u) << events[i];
    auto j = json::parse(events[i].substr(6));
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    const auto& choice = j["choices"][0];
    if (choice["delta"].contains("content")) out.text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) out.finish = choice["finish_reason"];
    out.last = j;
  }
  return out;
}

TEST(Server, StreamedEventsCarryTheSameAnswer) {
  Running s;
  auto c = s.client();
  auto body = chat_body("Is there a fracture?", data_uri(read_bytes(images()[0])));
  auto plain = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(plain && plain->status == 200);
  const auto answer = json::parse(plain->body);
  ASSERT_NE(answer["choices"][0]["message"]["content"], "");
  // Streamed while decoded; and, when an answer may be withheld, once its confidence is known.
  for (double min_confidence : {0.0, answer["medvqa"]["confidence"].get<double>() / 2}) {
    body["stream"] = true;
    body["min_confidence"] = min_confidence;
    auto streamed = c.Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_TRUE(streamed);
    ASSERT_EQ(streamed->status, 200) << streamed->body;
    EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
    const auto events = read_events(streamed->body);
    EXPECT_EQ(events.text, answer["choices"][0]["message"]["content"].get<std::string>());
    EXPECT_FALSE(events.finish.empty());
    EXPECT_TRUE(events.last["medvqa"].contains("confidence")) << events.last;
  }
}

TEST(Server, AStreamSharingABatchGetsItsOwnAnswer) {
  ServerOptions o;
  o.batching.max_wait = std::chrono::milliseconds(300);  // the three requests meet in one batch
  Running s(o);
  const auto files = images();
  std::vector<std::string> answers(3);
  Streamed streamed;
  std::vector<std::thread> clients;
  for (size_t i = 0; i < 3; ++i)
    clients.emplace_back([&, i] {
      auto body = chat_body(i == 1 ? "What is abnormal?" : "Which organ is shown?", data_uri(read_bytes(files[i])));
      if (i == 1) body["stream"] = true;
      auto r = s.client().Post("/v1/chat/completions", body.dump(), "application/json");
      ASSERT_TRUE(r && r->status == 200) << (r ? r->body : httplib::to_string(r.error()));
      if (i == 1)
        streamed = read_events(r->body);
      else
        answers[i] = json::parse(r->body)["choices"][0]["message"]["content"];
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(streamed.text, direct_answer(files[1], "What is abnormal?"));
  EXPECT_EQ(answers[0], direct_answer(files[0], "Which organ is shown?"));
  EXPECT_GE(streamed.last["medvqa"]["timings"]["batch_size"].get<int>(), 2) << streamed.last;
}


TEST(Server, AnswerEndpointTakesJpegAndWindowedDicom) {
  Running s;
  auto c = s.client();
  const std::string jpeg = images()[2];
  auto r = c.Post("/v1/answer", form(read_bytes(jpeg), "Is the heart enlarged?"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["answer"], direct_answer(jpeg, "Is the heart enlarged?", 0));
  EXPECT_TRUE(j["closed"].get<bool>());
  double total = 0;
  for (const auto& p : j["closed_probabilities"]) total += p["probability"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_GT(j["timings"]["total_ms"].get<double>(), 0);
  EXPECT_NE(j["notice"].get<std::string>().find("clinical"), std::string::npos);
  EXPECT_GT(j["confidence"].get<double>(), 0);
  auto sure = c.Post("/v1/answer", form(read_bytes(jpeg), "Is the heart enlarged?", {{"min_confidence", "1"}}));
  ASSERT_TRUE(sure);
  ASSERT_EQ(sure->status, 200) << sure->body;
  EXPECT_EQ(json::parse(sure->body)["answer"], infer::kUncertainAnswer);
  EXPECT_EQ(json::parse(sure->body)["withheld_answer"], j["answer"]);

  testing::TempDir tmp;
  ASSERT_EQ(std::system(("img2dcm " + jpeg + " " + tmp.file("scan.dcm") + " >/dev/null 2>&1").c_str()), 0);
  const std::string dicom = read_bytes(tmp.file("scan.dcm"));
  auto windowed = c.Post("/v1/answer", form(dicom, "What is abnormal?", {{"window", "lung"}}));
  ASSERT_TRUE(windowed);
  EXPECT_EQ(windowed->status, 200) << windowed->body;
  auto preview = c.Post("/v1/preview", form(dicom, "", {{"window_center", "40"}, {"window_width", "400"}}));
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->status, 200);
  EXPECT_EQ(preview->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(preview->body.substr(1, 3), "PNG");
  auto bad_window = c.Post("/v1/answer", form(dicom, "What is abnormal?", {{"window", "liver"}}));
  ASSERT_TRUE(bad_window);
  EXPECT_EQ(bad_window->status, 400);
  EXPECT_NE(bad_window->body.find("lung"), std::string::npos) << bad_window->body;  // names the valid presets
}


TEST(Server, MalformedRequestsGetClearJsonErrors) {
  ServerOptions o;
  o.max_body_bytes = 400'000;
  Running s(o);
  auto c = s.client();
  const std::string uri = data_uri(read_bytes(images()[0]));
  auto post = [&](const json& body) { return c.Post("/v1/chat/completions", body.dump(), "application/json"); };
  expect_error(c.Post("/v1/chat/completions", "{\"messages\": [", "application/json"), 400, "malformed JSON", "broken JSON");
  // Valid syntax, but a number no double holds (found by fuzz/chat_request_fuzzer: was a 500).
  expect_error(c.Post("/v1/chat/completions", "{\"max_tokens\": 1e400, \"messages\": []}", "application/json"), 400,
               "number overflow", "number out of range");
  expect_error(post(json::array()), 400, "body", "array body");
  expect_error(post({{"model", "x"}}), 400, "messages", "no messages");
  expect_error(post({{"messages", "hello"}}), 400, "messages", "messages not an array");
  expect_error(post({{"messages", {{{"role", "system"}, {"content", "hi"}}}}}), 400, "no user message", "no user turn");
  expect_error(post({{"messages", {{{"role", "user"}, {"content", "Is it normal?"}}}}}), 400, "no image", "no image");
  expect_error(post(chat_body("Is it normal?", "https://example.org/x.png")), 400, "data: URI", "remote URL");
  expect_error(post(chat_body("Is it normal?", "data:image/png;base64,@@@")), 400, "base64", "bad base64");
  expect_error(post(chat_body("Is it normal?", data_uri("junk junk junk junk", "image/png"))), 400, "the uploaded image: ",
               "junk image");
  expect_error(post(chat_body("   ", uri)), 400, "question", "empty question");
  expect_error(post(chat_body(std::string(3000, 'a'), uri)), 400, "question", "overlong question");
  auto wrong = chat_body("Is it normal?", uri);
  wrong["max_tokens"] = "ten";
  expect_error(post(wrong), 400, "max_tokens", "max_tokens a string");
  wrong = chat_body("Is it normal?", uri);
  wrong["temperature"] = 5;
  expect_error(post(wrong), 400, "temperature", "temperature out of range");
  wrong = chat_body("Is it normal?", uri);
  wrong["min_confidence"] = 1.5;
  expect_error(post(wrong), 400, "min_confidence", "min_confidence out of range");
  wrong = chat_body("Is it normal?", uri);
  wrong["stream"] = "yes";
  expect_error(post(wrong), 400, "stream", "stream a string");
  expect_error(c.Post("/v1/chat/completions", std::string(500'000, ' '), "application/json"), 413, "larger",
               "oversized body");
  expect_error(c.Post("/v1/answer", "question=hi", "application/x-www-form-urlencoded"), 400, "multipart",
               "not multipart");
  expect_error(c.Post("/v1/answer", form(read_bytes(images()[0]), "")), 400, "question", "no question field");
  expect_error(c.Post("/v1/answer", form(read_bytes(images()[0]), "Is it normal?", {{"window_center", "40"}})), 400,
               "both", "center without width");
  expect_error(c.Post("/v1/answer", form(read_bytes(images()[0]), "Is it normal?", {{"min_confidence", "high"}})), 400,
               "min_confidence", "min_confidence not a number");
  expect_error(c.Get("/v1/nothing-here"), 404, "no such endpoint", "unknown path");

  auto unknown_fields = chat_body("Is it normal?", uri);
  unknown_fields["frequency_penalty"] = 0.5;
  unknown_fields["user"] = "someone";
  auto ok = post(unknown_fields);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  ServerOptions small;
  small.max_pixels = 1000;
  Running tiny_limit(small);
  auto limited = tiny_limit.client();
  expect_error(limited.Post("/v1/chat/completions", chat_body("Is it normal?", uri).dump(), "application/json"), 400,
               "exceeds", "too many pixels");
}

TEST(Server, ApiKeyGuardsTheApiButNotHealthOrThePage) {
  ServerOptions o;
  o.api_key = "s3cret";
  Running s(o);
  auto c = s.client();
  expect_error(c.Get("/v1/models"), 401, "API key", "no key");
  c.set_bearer_token_auth("wrong");
  expect_error(c.Get("/v1/models"), 401, "API key", "wrong key");
  c.set_bearer_token_auth("s3cret");
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  EXPECT_EQ(json::parse(models->body)["data"][0]["object"], "model");
  auto open = s.client();
  EXPECT_EQ(open.Get("/health")->status, 200);
  EXPECT_EQ(open.Get("/")->status, 200);
}

// Answers of `clients` concurrent /v1/answer requests, in request order.
std::vector<json> concurrent_answers(Running& s, int clients) {
  auto files = images();
  std::vector<json> out(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      auto c = s.client();
      auto r = c.Post("/v1/answer", form(read_bytes(files[size_t(i) % files.size()]),
                                         i % 2 ? "Is there a fracture?" : "Which organ is this?"));
      out[size_t(i)] = r && r->status == 200 ? json::parse(r->body) : json{{"failed", r ? r->body : "no response"}};
    });
  for (auto& t : threads) t.join();
  return out;
}

TEST(Server, ConcurrentClientsGetTheSameAnswersWithAndWithoutBatching) {
  ServerOptions batched;
  batched.batching.max_batch = 8;
  batched.batching.max_wait = std::chrono::milliseconds(200);
  ServerOptions single;
  single.batching.max_batch = 1;
  std::vector<json> a, b;
  {
    Running s(batched);
    a = concurrent_answers(s, 8);
  }
  {
    Running s(single);
    b = concurrent_answers(s, 8);
  }
  size_t largest_batch = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_FALSE(a[i].contains("failed")) << a[i];
    ASSERT_FALSE(b[i].contains("failed")) << b[i];
    EXPECT_EQ(a[i]["answer"], b[i]["answer"]) << "client " << i;
    EXPECT_EQ(b[i]["timings"]["batch_size"], 1);
    largest_batch = std::max(largest_batch, a[i]["timings"]["batch_size"].get<size_t>());
  }
  EXPECT_GT(largest_batch, 1u) << "concurrent requests were never batched";
}

TEST(Server, ABurstOfNewConnectionsIsAccepted) {
  // httplib's own listen backlog (5) reset some of these; the server widens it.
  Running s;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i)
    threads.emplace_back([&] {
      auto c = s.client();
      auto r = c.Get("/health");
      if (r && r->status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 64);
}

TEST(Server, StopFinishesRequestsInFlight) {
  ServerOptions o;
  o.batching.max_wait = std::chrono::milliseconds(1500);  // the request waits in the queue meanwhile
  auto s = std::make_unique<Running>(o);
  int status = 0;
  std::string body;
  std::thread client([&] {
    auto r = s->client().Post("/v1/answer", form(read_bytes(images()[0]), "Is it normal?"));
    status = r ? r->status : -1;
    body = r ? r->body : httplib::to_string(r.error());
  });
  auto probe = s->client();
  for (int i = 0; i < 200; ++i) {
    auto h = probe.Get("/health");
    if (h && json::parse(h->body)["queued"].get<int>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s->server().stop();
  client.join();
  EXPECT_EQ(status, 200) << body;
  s.reset();
}

TEST(Server, ServesThePageAndNothingOutsideIt) {
  Running s;
  auto c = s.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  for (const char* path : {"/app.js", "/style.css"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
  auto escape = c.Get("/../CMakeLists.txt");
  ASSERT_TRUE(escape);
  EXPECT_NE(escape->status, 200);
  EXPECT_EQ(escape->body.find("cmake_minimum_required"), std::string::npos);
}

// Heat maps on request, from both endpoints: the explainer's map of the answer given, where the
// model's input square lies in the image; refused when asked wrongly or when the server has none.
TEST(Server, HeatmapsOnRequest) {
  Running s;
  auto c = s.client();
  const std::string jpeg = images()[2];
  const auto image = image::load_image(jpeg);
  // Ranked, the answer is a candidate, never empty (an empty answer gets a null map).
  auto r = c.Post("/v1/answer", form(read_bytes(jpeg), "Is the heart enlarged?", {{"heatmap", "gradcam"}, {"rank_closed", "true"}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  const auto expected = tiny_explainer().explain(image, "Is the heart enlarged?", j["answer"], infer::HeatmapMethod::kGradCam);
  EXPECT_EQ(j["heatmap"], infer::to_json(expected));
  EXPECT_EQ(j["heatmap"]["method"], "gradcam");
  EXPECT_EQ(j["heatmap"]["grid"], 4);
  EXPECT_EQ(j["heatmap"]["values"].size(), 4u);
  EXPECT_EQ(j["heatmap"]["region"]["side"], std::min(image.width, image.height));
  EXPECT_FALSE(json::parse(c.Post("/v1/answer", form(read_bytes(jpeg), "Is the heart enlarged?"))->body).contains("heatmap"));

  auto body = chat_body("Which organ is shown?", data_uri(read_bytes(jpeg)));
  body["heatmap"] = "attention";
  auto chat = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(chat);
  ASSERT_EQ(chat->status, 200) << chat->body;
  auto h = json::parse(chat->body)["medvqa"]["heatmap"];
  const std::string content = json::parse(chat->body)["choices"][0]["message"]["content"];
  ASSERT_TRUE(json::parse(chat->body)["medvqa"].contains("heatmap"));
  if (content.empty()) {
    EXPECT_TRUE(h.is_null());
  } else {
    EXPECT_EQ(h["method"], "attention");
    EXPECT_EQ(h["answer"], content);
  }

  auto bad = c.Post("/v1/answer", form(read_bytes(jpeg), "Is the heart enlarged?", {{"heatmap", "saliency"}}));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["param"], "heatmap");
  body["heatmap"] = 3;
  EXPECT_EQ(c.Post("/v1/chat/completions", body.dump(), "application/json")->status, 400);

  Running without({}, nullptr);
  auto refused = without.client().Post("/v1/answer", form(read_bytes(jpeg), "Is it normal?", {{"heatmap", "attention"}}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(json::parse(refused->body)["error"]["message"].get<std::string>().find("--no-heatmaps"), std::string::npos);
}

// The page in Debian's Chromium through playwright-core (tests/web/answer.test.mjs): upload a real
// image, ask, see the answer and the notice; errors for an empty question and a junk file.
// scripts/test.sh installs both and sets MEDVQA_REQUIRE_FIXTURES, so CI cannot skip it.
TEST(WebPage, AnswersInChromium) {
  const std::string web_tests = testing::source_dir() + "/tests/web";
  const bool ready = std::filesystem::exists(web_tests + "/node_modules/playwright-core") &&
                     std::filesystem::exists("/usr/bin/chromium") && std::system("node --version >/dev/null 2>&1") == 0;
  if (!ready) {
    MEDVQA_SKIP_MISSING_FIXTURE(
        "needs node, /usr/bin/chromium and `npm ci --prefix tests/web` (scripts/test.sh installs them)");
  }
  Running s;
  // Beside the test binary, in the build tree.
  const std::string screenshot = std::filesystem::read_symlink("/proc/self/exe").parent_path().string() + "/web-page-answer.png";
  const std::string command = "MEDVQA_URL=http://127.0.0.1:" + std::to_string(s.port()) + " MEDVQA_IMAGE=" + images()[0] +
                              " MEDVQA_SCREENSHOT=" + screenshot + " node " + web_tests + "/answer.test.mjs 2>&1";
  std::string output;
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) output.append(buf.data(), n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_TRUE(std::filesystem::exists(screenshot)) << output;
  std::cout << output;
}

}  // namespace
}  // namespace medvqa::serve
