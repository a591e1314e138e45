// The server against clients that do not play by the rules, over raw loopback sockets: a corpus of
// hostile requests (each must get a 4xx JSON error, or be disconnected where no answer can come,
// while the server goes on serving), slow clients (slowloris) and header floods cut off by
// ConnectionLimits, and the API key checked before a body is read or decoded.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "image/image.h"
#include "server_fixture.h"

namespace medvqa::serve {
namespace {

using json = nlohmann::json;
using namespace fixture;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ADD_FAILURE() << "connect";
  timeval ten_seconds{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ten_seconds, sizeof ten_seconds);
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += size_t(n);
  }
  return true;
}

// The whole response (headers and as much body as Content-Length says): what the server sends
// until then, until it closes the connection, or until `timeout` passes.
bool complete(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  size_t length = 0;
  const auto at = response.find("Content-Length: ");
  if (at != std::string::npos && at < end) length = std::stoul(response.substr(at + 16));
  return response.size() >= end + 4 + length;
}

std::string read_response(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto end = Clock::now() + timeout;
  char buffer[4096];
  while (Clock::now() < end && !complete(out)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, size_t(n));
  }
  return out;
}

int status_of(const std::string& response) {
  int status = 0;
  return std::sscanf(response.c_str(), "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

std::string http_request(const std::string& method, const std::string& path, const std::string& headers,
                         const std::string& body) {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string multipart(const std::string& image, const std::string& question) {
  return "--b0undary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"scan\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         image + "\r\n--b0undary\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\n" + question +
         "\r\n--b0undary--\r\n";
}

const char* kMultipart = "Content-Type: multipart/form-data; boundary=b0undary\r\n";
const char* kJson = "Content-Type: application/json\r\n";

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_be(std::string& s, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + size_t(i)] = char((value >> (8 * (bytes - 1 - i))) & 0xFF);
}

// A real PNG whose header claims width x height (the CRC fixed, so only the size is wrong).
std::string png_claiming(uint32_t width, uint32_t height) {
  image::Image gray;
  gray.width = gray.height = 8;
  gray.channels = 3;
  gray.pixels.assign(8 * 8 * 3, 128);
  auto bytes = image::encode_png(gray);
  std::string png(bytes.begin(), bytes.end());
  put_be(png, 16, width, 4);
  put_be(png, 20, height, 4);
  put_be(png, 29, crc32(png.substr(12, 17)), 4);
  return png;
}

// A real JPEG whose start-of-frame claims width x height.
std::string jpeg_claiming(uint16_t width, uint16_t height) {
  std::string jpeg = read_bytes(images()[0]);
  for (size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (uint8_t(jpeg[i]) == 0xFF && (uint8_t(jpeg[i + 1]) == 0xC0 || uint8_t(jpeg[i + 1]) == 0xC2)) {
      put_be(jpeg, i + 5, height, 2);
      put_be(jpeg, i + 7, width, 2);
      return jpeg;
    }
  ADD_FAILURE() << "no start-of-frame in " << images()[0];
  return jpeg;
}

// A real DICOM file (img2dcm of a JPEG, explicit little endian) whose Rows and Columns say 65535.
std::string dicom_claiming_65535_squared(const testing::TempDir& tmp) {
  const std::string path = tmp.file("scan.dcm");
  EXPECT_EQ(std::system(("img2dcm " + images()[0] + " " + path + " >/dev/null 2>&1").c_str()), 0);
  std::string dicom = read_bytes(path);
  for (const char* tag : {"\x28\x00\x10\x00US\x02\x00", "\x28\x00\x11\x00US\x02\x00"}) {
    const auto at = dicom.find(std::string(tag, 8));
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) dicom[at + 8] = dicom[at + 9] = char(0xFF);
  }
  return dicom;
}

void expect_still_serving(Running& s, const std::string& after) {
  auto health = s.client().Get("/health");
  ASSERT_TRUE(health) << "no answer to /health after " << after;
  EXPECT_EQ(health->status, 200) << after;
}

TEST(HostileClients, EveryHostileRequestGetsAJsonErrorOrIsCutOffAndServingGoesOn) {
  ServerOptions o;
  o.max_body_bytes = 2u << 20;
  o.request_timeout = std::chrono::milliseconds(1500);
  Running s(o);
  testing::TempDir tmp;
  const std::string jpeg = read_bytes(images()[0]);
  const std::string chat_ok = chat_body("Is it normal?", data_uri(jpeg)).dump();
  auto chat = [](const std::string& body) { return http_request("POST", "/v1/chat/completions", kJson, body); };
  auto answer = [](const std::string& image, const std::string& question = "Is it normal?") {
    return http_request("POST", "/v1/answer", kMultipart, multipart(image, question));
  };
  std::string headers_3000;
  for (int i = 0; i < 3000; ++i) headers_3000 += "X-Header-" + std::to_string(i) + ": v\r\n";
  std::string nested = std::string(100'000, '[') + std::string(100'000, ']');
  auto invalid_utf8 = chat_body("Is it normal?", data_uri(jpeg)).dump();
  invalid_utf8.replace(invalid_utf8.find("Is it normal?"), 13, "Is it \xff\xfe\xc0?");

  struct Case {
    std::string name;
    std::string request;
    int status;  // 0: the server closes the connection without an answer (cut off, or the client gone)
    std::string fragment;
    bool half_close = false;  // the client stops sending (shutdown of its write side)
  };
  const std::vector<Case> corpus = {
      {"request line of garbage", "GARBAGE\r\n\r\n", 400, "HTTP error"},
      {"truncated body (Content-Length 1000, 10 bytes sent)",
       "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
       "{\"messages",
       0, "", true},
      {"body over the limit (Content-Length 10^12)",
       "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
       "1000000000000\r\n\r\n{",
       413, "larger"},
      {"chat body as text/plain", http_request("POST", "/v1/chat/completions", "Content-Type: text/plain\r\n", chat_ok),
       415, "application/json"},
      {"chat body without Content-Type", http_request("POST", "/v1/chat/completions", "", chat_ok), 415,
       "no Content-Type"},
      {"multipart without boundary",
       http_request("POST", "/v1/answer", "Content-Type: multipart/form-data\r\n", multipart(jpeg, "Is it normal?")),
       400, ""},
      {"chunked body with a bad chunk size",
       "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
       "chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400, "HTTP error"},
      {"chunked body that never ends",
       "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
       "chunked\r\n\r\n5\r\n{\"mes\r\n",
       0, ""},
      {"JSON nested 100000 deep", chat(nested), 400, "body"},
      {"number overflow", chat("{\"max_tokens\": 1e400, \"messages\": []}"), 400, "number overflow"},
      {"string of 1 MB as the question", chat(chat_body(std::string(1u << 20, 'a'), data_uri(jpeg)).dump()), 400,
       "question"},
      {"invalid UTF-8 in the question", chat(invalid_utf8), 400, "UTF-8"},
      {"invalid UTF-8 in a form's question (answered; echoed with U+FFFD)", answer(jpeg, "Is it \xff\xfe normal?"), 200,
       ""},
      {"invalid base64 image", chat(chat_body("Is it normal?", "data:image/png;base64,!!!!").dump()), 400, "base64"},
      {"data URI that is not base64", chat(chat_body("Is it normal?", "data:image/png,rawbytes").dump()), 400,
       "base64"},
      {"image that is text", answer("this is not an image at all"), 400, "unsupported image format"},
      {"PNG claiming 60000 x 60000", answer(png_claiming(60000, 60000)), 400, "decompression bomb"},
      {"JPEG claiming 65000 x 65000", answer(jpeg_claiming(65000, 65000)), 400, "decompression bomb"},
      {"DICOM claiming 65535 x 65535", answer(dicom_claiming_65535_squared(tmp)), 400, "decompression bomb"},
      {"3000 headers (40 KB, within the header limit)", http_request("GET", "/v1/models", headers_3000, ""), 200, ""},
  };
  for (const auto& c : corpus) {
    const int fd = connect_to(s.port());
    const auto start = Clock::now();
    send_all(fd, c.request);
    if (c.half_close) ::shutdown(fd, SHUT_WR);
    const std::string response = read_response(fd, std::chrono::seconds(10));
    const double seconds = seconds_since(start);
    ::close(fd);
    EXPECT_EQ(status_of(response), c.status) << c.name << ":\n" << response.substr(0, 400);
    if (c.status == 0) {
      EXPECT_LT(seconds, 5.0) << c.name << ": not cut off in time";
    }
    if (c.status >= 400) {
      const auto body = json::parse(response.substr(std::min(response.size(), response.find("\r\n\r\n") + 4)),
                                    nullptr, false);
      ASSERT_TRUE(body.is_object() && body.contains("error")) << c.name << ":\n" << response.substr(0, 400);
      EXPECT_NE(body["error"]["message"].get<std::string>().find(c.fragment), std::string::npos)
          << c.name << ": " << body["error"]["message"];
    }
    std::printf("  %-55s -> %s (%.2f s)\n", c.name.c_str(),
                status_of(response) ? std::to_string(status_of(response)).c_str() : "disconnected", seconds);
    expect_still_serving(s, c.name);
  }
}

// Connects, sends `start`, then one byte of `drip` every 200 ms; returns the seconds until the
// server disconnected it (infinity if it had not after 10 s).
double seconds_until_cut_off(int port, const std::string& start, char drip) {
  const int fd = connect_to(port);
  const auto t0 = Clock::now();
  bool open = send_all(fd, start);
  while (open && seconds_since(t0) < 10) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char c;
      open = ::recv(fd, &c, 1, 0) > 0;
    } else {
      open = ::send(fd, &drip, 1, MSG_NOSIGNAL) == 1;
    }
  }
  ::close(fd);
  return open ? INFINITY : seconds_since(t0);
}

TEST(HostileClients, SlowClientsAreCutOffAtTheRequestTimeoutWhileOthersAreServed) {
  ServerOptions o;
  o.http_threads = 4;
  o.request_timeout = std::chrono::milliseconds(2000);
  Running s(o);
  const std::string image = read_bytes(images()[0]);
  // Slow headers, and complete headers followed by a slow body.
  const std::string slow_headers = "POST /v1/answer HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  const std::string slow_body = std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n") + kJson +
                                "Content-Length: 100000\r\n\r\n{\"messages\": \"";
  auto slow_clients = [&](int n, std::vector<double>& cut_after) {
    std::vector<std::thread> threads;
    cut_after.assign(size_t(n), 0);
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        cut_after[size_t(i)] = i % 2 ? seconds_until_cut_off(s.port(), slow_body, 'a')
                                     : seconds_until_cut_off(s.port(), slow_headers, 'a');
      });
    return threads;
  };
  auto answered_after = [&] {
    const auto t0 = Clock::now();
    auto r = s.client().Post("/v1/answer", form(image, "Is it normal?"));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : httplib::to_string(r.error()));
    return seconds_since(t0);
  };

  // Three slow clients hold three of the four workers: the fourth serves others meanwhile.
  std::vector<double> cut_after;
  auto threads = slow_clients(3, cut_after);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(answered_after(), 1.5) << "a free worker should answer at once";
  for (auto& t : threads) t.join();
  for (double t : cut_after) {
    EXPECT_GE(t, 1.9) << "cut off before the request timeout";
    EXPECT_LT(t, 4.0) << "still connected long after the request timeout";
  }

  // Four slow clients hold every worker: a request waits only until the timeout frees one.
  threads = slow_clients(4, cut_after);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(answered_after(), 5.0);
  for (auto& t : threads) t.join();
  for (double t : cut_after) EXPECT_LT(t, 4.0);
}

// Clients that promise a body and hang up halfway, politely (FIN) or abruptly (RST, via a zero
// linger): each must give its worker back at once, not at the request timeout, or a few hundred
// flaky uploads would leave the server deaf for the timeout's length.
TEST(HostileClients, ClientsThatHangUpMidBodyGiveTheirWorkerBackAtOnce) {
  ServerOptions o;
  o.http_threads = 2;
  o.request_timeout = std::chrono::milliseconds(30'000);
  Running s(o);
  const std::string image = read_bytes(images()[0]);
  const std::string upload = multipart(image, "Is it normal?");
  const std::string chat = json{{"messages", json::array({{{"role", "user"}, {"content", std::string(4000, 'a')}}})}}.dump();
  const std::vector<std::string> half_sent = {
      http_request("POST", "/v1/answer", kMultipart, upload).substr(0, 200 + upload.size() / 2),
      http_request("POST", "/v1/chat/completions", kJson, chat).substr(0, 200 + chat.size() / 2)};
  for (int i = 0; i < 20; ++i) {
    const int fd = connect_to(s.port());
    ASSERT_TRUE(send_all(fd, half_sent[size_t(i) % 2]));
    if (i % 4 >= 2) {
      linger reset{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    ::close(fd);
  }
  // Both workers must be free long before the 30 s timeout would have freed them.
  const auto t0 = Clock::now();
  auto r = s.client().Post("/v1/answer", form(image, "Is it normal?"));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_LT(seconds_since(t0), 5.0) << "a worker was still held by a client that had hung up";
  expect_still_serving(s, "twenty clients that hung up mid-body");
}

TEST(HostileClients, AHeaderFloodIsCutOffAtTheHeaderLimit) {
  ServerOptions o;
  o.max_header_bytes = 64u << 10;
  Running s(o);
  const int fd = connect_to(s.port());
  std::string line = "X-Flood: " + std::string(1000, 'a') + "\r\n";
  std::string block;
  while (block.size() < (64u << 10)) block += line;
  size_t sent = 0;
  bool open = send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n");
  // At loopback speed the watcher (every 50 ms) cuts off after at most tens of megabytes.
  while (open && sent < (512u << 20)) {
    open = send_all(fd, block);
    if (open) sent += block.size();
  }
  ::close(fd);
  EXPECT_FALSE(open) << "sent " << sent << " bytes of headers and still connected";
  std::printf("  header flood cut off after %.1f MB sent\n", double(sent) / (1 << 20));
  expect_still_serving(s, "a header flood");
}

TEST(HostileClients, TheApiKeyIsCheckedBeforeTheBodyIsReadOrTheImageDecoded) {
  ServerOptions o;
  o.api_key = "s3cret";
  Running s(o);
  // Headers announcing 10 MB that never come: the 401 comes at once, without waiting for them.
  const int fd = connect_to(s.port());
  const auto t0 = Clock::now();
  send_all(fd, std::string("POST /v1/answer HTTP/1.1\r\nHost: x\r\n") + kMultipart + "Content-Length: 10000000\r\n\r\n");
  const std::string response = read_response(fd, std::chrono::seconds(3));
  ::close(fd);
  EXPECT_EQ(status_of(response), 401) << response;
  EXPECT_LT(seconds_since(t0), 2.0);
  // An image that is not one: without the key it is never decoded (401, not the decoder's 400).
  auto c = s.client();
  expect_error(c.Post("/v1/answer", form("not an image", "Is it normal?")), 401, "API key", "no key, junk image");
  c.set_bearer_token_auth("s3cret");
  expect_error(c.Post("/v1/answer", form("not an image", "Is it normal?")), 400, "unsupported image format",
               "key, junk image");
}

TEST(HostileClients, ListeningBeyondLoopbackWithoutAKeyWarns) {
  ServerOptions o;
  for (const char* host : {"127.0.0.1", "127.0.0.2", "::1", "localhost"}) {
    o.host = host;
    EXPECT_EQ(exposure_warning(o), "") << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.20"}) {
    o.host = host;
    EXPECT_NE(exposure_warning(o).find("--api-key"), std::string::npos) << host;
  }
  o.api_key = "k";
  EXPECT_EQ(exposure_warning(o), "");
}

}  // namespace
}  // namespace medvqa::serve
