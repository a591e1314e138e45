#pragma once
// What the server tests share: a tiny model answering over a server on a free loopback port,
// the first VQA-RAD images, request bodies, and the check of an OpenAI-style error.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "infer/answerer.h"
#include "infer/heatmap.h"
#include "serve/server.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::serve::fixture {

infer::Answerer& tiny_answerer();
infer::Explainer& tiny_explainer();
std::string read_bytes(const std::string& path);
// The first 8 VQA-RAD images, sorted by name.
std::vector<std::string> images();
std::string data_uri(const std::string& bytes, const std::string& mime = "image/jpeg");
nlohmann::json chat_body(const std::string& question, const std::string& image_uri);
httplib::MultipartFormDataItems form(const std::string& image_bytes, const std::string& question,
                                     const std::vector<std::pair<std::string, std::string>>& extra = {});
// The response has `status` and an OpenAI-style error whose message contains `fragment`.
void expect_error(const httplib::Result& r, int status, const std::string& fragment, const std::string& what);

// A server on a free loopback port, serving on its own thread for the test's lifetime.
class Running {
 public:
  explicit Running(ServerOptions o = {}, infer::Explainer* explainer = &tiny_explainer()) {
    o.port = 0;
    if (o.web_dir.empty()) o.web_dir = testing::source_dir() + "/web";
    server_ = std::make_unique<Server>(tiny_answerer(), o, explainer);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
  }
  ~Running() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(120));
    return c;
  }
  Server& server() { return *server_; }
  int port() const { return port_; }

 private:
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace medvqa::serve::fixture
