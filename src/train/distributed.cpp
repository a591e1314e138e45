#include "train/distributed.h"

// Debian's libtorch is built with Gloo; its header only declares the backend under this macro.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "io/error.h"

extern char** environ;

namespace medvqa::train {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    size_t used = 0;
    int x = std::stoi(v, &used);
    if (used != std::string(v).size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw Error(std::string("environment variable ") + name + "='" + v + "' is not an integer");
  }
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

// A port the kernel reports free now; the rendezvous binds it a moment later.
int find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--nproc: cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port <= 0) throw Error("--nproc: cannot find a free port on 127.0.0.1 (set MASTER_PORT)");
  return port;
}

DistributedEnv DistributedEnv::from_environment() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1);
  e.rank = env_int("RANK", 0);
  e.local_rank = env_int("LOCAL_RANK", e.rank);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') e.master_addr = a;
  e.master_port = env_int("MASTER_PORT", e.master_port);
  if (e.world_size < 1) throw Error("WORLD_SIZE must be at least 1");
  if (e.rank < 0 || e.rank >= e.world_size)
    throw Error("RANK=" + std::to_string(e.rank) + " is outside WORLD_SIZE=" + std::to_string(e.world_size));
  if (e.master_port <= 0 || e.master_port > 65535) throw Error("MASTER_PORT must be in 1..65535");
  return e;
}

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Communicator::Communicator(const DistributedEnv& env, std::chrono::milliseconds timeout)
    : env_(env), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions store_options;
  store_options.port = uint16_t(env.master_port);
  store_options.isServer = env.rank == 0;
  store_options.numWorkers = size_t(env.world_size);
  store_options.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    // The address other ranks reach this one at: an interface named as for torchrun, loopback
    // for a single machine, else what this machine's hostname resolves to.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(env.master_addr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const c10::Error& e) {
    throw Error("distributed training: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                " could not join " + env.master_addr + ":" + std::to_string(env.master_port) + ": " +
                e.what_without_backtrace());
  }
}

Communicator::~Communicator() = default;

void Communicator::all_reduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  size_t i = 0;
  while (i < tensors.size()) {
    // A bucket: consecutive tensors of one dtype and device, up to bucket_bytes (at least one).
    size_t end = i;
    int64_t bytes = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == tensors[i].scalar_type() &&
           tensors[end].device() == tensors[i].device() &&
           (end == i || bytes + tensors[end].nbytes() <= size_t(bucket_bytes)))
      bytes += int64_t(tensors[end++].nbytes());
    std::vector<torch::Tensor> flat_parts;
    for (size_t k = i; k < end; ++k) flat_parts.push_back(tensors[k].reshape({-1}));
    // Gloo reduces host memory: a GPU bucket travels through a CPU copy.
    std::vector<torch::Tensor> bucket = {torch::cat(flat_parts).to(torch::kCPU).contiguous()};
    impl_->group->allreduce(bucket)->wait();
    auto reduced = bucket[0].to(tensors[i].device());
    int64_t offset = 0;
    for (size_t k = i; k < end; ++k) {
      int64_t n = tensors[k].numel();
      tensors[k].copy_(reduced.narrow(0, offset, n).view(tensors[k].sizes()));
      offset += n;
    }
    i = end;
  }
}

double Communicator::all_reduce_sum(double value) {
  auto t = torch::tensor({value}, torch::kFloat64);
  all_reduce_sum(std::vector<torch::Tensor>{t});
  return t.item<double>();
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one = {t.to(torch::kCPU).contiguous()};
    impl_->group->broadcast(one, options)->wait();
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

void Communicator::barrier() { impl_->group->barrier()->wait(); }

int launch_local_workers(int nproc, const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  if (nproc < 1) throw Error("--nproc must be at least 1");
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const int port = std::getenv("MASTER_PORT") != nullptr ? env_int("MASTER_PORT", 0) : find_free_port();
  // Split the cores between the workers: oversubscribed OpenMP pools slow every rank down.
  const int threads = std::max(1, int(std::thread::hardware_concurrency()) / nproc);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  std::vector<pid_t> pids;
  for (int rank = 0; rank < nproc; ++rank) {
    std::map<std::string, std::string> set = {
        {"RANK", std::to_string(rank)},          {"LOCAL_RANK", std::to_string(rank)},
        {"WORLD_SIZE", std::to_string(nproc)},   {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
        {"MASTER_ADDR", "127.0.0.1"},            {"MASTER_PORT", std::to_string(port)},
        {"OMP_NUM_THREADS", std::to_string(threads)}};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry = *e;
      if (set.count(entry.substr(0, entry.find('='))) == 0) env.push_back(entry);
    }
    for (const auto& [k, v] : set) env.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    if (int err = posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()); err != 0) {
      for (pid_t p : pids) ::kill(p, SIGTERM);
      throw Error("--nproc: cannot start worker " + std::to_string(rank) + ": " + std::strerror(err));
    }
    pids.push_back(pid);
  }

  int result = 0;
  for (size_t running = pids.size(); running > 0; --running) {
    int status = 0;
    pid_t done = ::waitpid(-1, &status, 0);
    if (done < 0) break;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      std::cerr << "worker " << (std::find(pids.begin(), pids.end(), done) - pids.begin())
                << " failed (exit status " << code << "); stopping the others\n";
      for (pid_t p : pids)
        if (p != done) ::kill(p, SIGTERM);
    }
  }
  return result;
}

}  // namespace medvqa::train
