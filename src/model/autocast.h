#pragma once
// Autocast switches for libtorch 1.13 and 2.x alike: 2.4 replaced the per-device functions
// (set_cpu_enabled, set_enabled for CUDA, ...) by ones that take the device type.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace medvqa::model {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled(c10::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
inline void set_autocast(c10::DeviceType type, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, enabled);
}
#else
inline bool autocast_enabled(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
inline void set_autocast(c10::DeviceType type, bool enabled, at::ScalarType dtype) {
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

// Matmuls in bf16 with fp32 master weights, for as long as the guard lives (autocast on the
// device the model computes on). Guards nest: the outer one's state comes back.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, c10::Device device) : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
    was_enabled_ = autocast_enabled(type_);
    set_autocast(type_, true, at::kBFloat16);
  }
  ~AutocastGuard() {
    if (!enabled_ || was_enabled_) return;
    set_autocast(type_, false, at::kBFloat16);
    at::autocast::clear_cache();
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_, was_enabled_ = false;
  c10::DeviceType type_;
};

}  // namespace medvqa::model
