#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace medvqa::train {

// Where this process sits in a data-parallel job, in torchrun's terms: RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Without them: one process, rank 0.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  static DistributedEnv from_environment();
};

// The collectives data-parallel training needs, over c10d's Gloo, which reduces host memory:
// tensors on a GPU travel through CPU copies. Rank 0 hosts the rendezvous store.
class Communicator {
 public:
  explicit Communicator(const DistributedEnv& env,
                        std::chrono::milliseconds timeout = std::chrono::minutes(60));
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }

  // Sums the tensors across ranks in place. Tensors travel in flat buckets of about
  // `bucket_bytes` (one collective per bucket instead of one per parameter).
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = int64_t(16) << 20);
  double all_reduce_sum(double value);
  // Copies the root's values into every rank's tensors.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

 private:
  struct Impl;
  DistributedEnv env_;
  std::unique_ptr<Impl> impl_;
};

// A TCP port on 127.0.0.1 that is free at the time of the call.
int find_free_port();

// `medvqa train --nproc N`: runs N copies of this executable with `args` on this machine, with
// the torchrun environment set, and waits for them. If one fails the others are stopped; returns
// the first failing exit status, or 0.
int launch_local_workers(int nproc, const std::vector<std::string>& args);

}  // namespace medvqa::train
