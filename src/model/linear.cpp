#include "model/linear.h"

#include <ATen/record_function.h>

#include <cmath>
#include <limits>

#include "io/error.h"
#include "model/autocast.h"
#include "model/bf16_kernels.h"
#include "model/packed_kernels.h"

namespace medvqa::model {
namespace {
// libtorch 1.13's bf16 CPU kernels for some elementwise and normalizing ops are several times
// slower than converting to fp32 and back: those ops take the fp32 route for such inputs.
bool is_bf16_on_cpu(const torch::Tensor& x) { return x.scalar_type() == torch::kBFloat16 && x.device().is_cpu(); }

// Whether autograd would record an op on these tensors: the kernels have no backward, so they
// serve inference only.
bool grad_needed(const torch::Tensor& a, const torch::Tensor& b = {}, const torch::Tensor& c = {}) {
  auto tracked = [](const torch::Tensor& t) { return t.defined() && t.requires_grad(); };
  return torch::GradMode::is_enabled() && (tracked(a) || tracked(b) || tracked(c));
}

// Inference products of a few rows (a batch's decoding step, Q-Former queries, short prompts) on
// fp32 CPU weights go through the row kernels, which read each weight once for all rows; BLAS
// packs the whole matrix first. Measured (192-1024 wide layers, 2 threads, AVX512 host): 2-3.7x
// faster at 2-8 rows, 1.3-1.4x at 16-26, even at 32, behind from 50 (0.6-0.7x).
constexpr int64_t kFp32KernelRows = 24;

bool few_rows_for_kernels(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32 || !x.device().is_cpu() ||
      !weight.device().is_cpu() || !weight.is_contiguous() || weight.dim() != 2 || x.dim() == 0 ||
      x.size(-1) != weight.size(1) || autocast_enabled(c10::DeviceType::CPU))
    return false;
  if (grad_needed(x, weight, bias)) return false;
  const int64_t m = x.size(-1) > 0 ? x.numel() / x.size(-1) : 0;
  return m >= 2 && m <= kFp32KernelRows;
}
}  // namespace

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    double bound = 1.0 / std::sqrt(double(in));
    bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
  }
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (bf16_dot_applies(x, weight) && (!bias.defined() || bias.scalar_type() == torch::kBFloat16) &&
      !autocast_enabled(c10::DeviceType::CPU) && !grad_needed(x, weight, bias)) {
    auto y = bf16_dot_product(x, weight);
    if (bias.defined()) y.add_(bias);  // a bf16 bias widens exactly inside the add
    return y.to(torch::kBFloat16);
  }
  // Autocast and mixed dtypes stay with F::linear, which casts as autocast requires.
  if (x.dim() >= 1 && x.numel() == x.size(-1) && x.numel() > 0 && x.scalar_type() == weight.scalar_type() &&
      !autocast_enabled(x.device().type())) {
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    auto y = torch::mv(weight, x.reshape({-1}));
    if (bias.defined()) y = y + bias;
    return y.view(sizes);
  }
  if (few_rows_for_kernels(x, weight, bias)) {
    const int64_t k = weight.size(1), n = weight.size(0);
    auto x2 = x.reshape({-1, k}).contiguous();
    auto y = torch::empty({x2.size(0), n}, x.options());
    kernels::f32_rows(x2.data_ptr<float>(), x2.size(0), weight.data_ptr<float>(), k, n, y.data_ptr<float>());
    if (bias.defined()) y.add_(bias);
    auto sizes = x.sizes().vec();
    sizes.back() = n;
    return y.view(sizes);
  }
  return torch::nn::functional::linear(x, weight, bias);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = packed ? packed->linear(x, bias) : linear(x, weight, bias);
  if (has_lora() && lora_enabled_) {
    auto h = lora_dropout_ > 0 && is_training() ? torch::dropout(x, lora_dropout_, true) : x;
    y = y + lora_B(lora_A(h)) * lora_scaling_;
  }
  return y;
}

void LinearImpl::add_lora(int64_t r, double scaling, double dropout) {
  auto opts = weight.options();
  lora_A = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features, r).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(r, out_features).bias(false)));
  // PEFT: A ~ kaiming_uniform(a=√5), B = 0, so a fresh adapter leaves the model unchanged.
  torch::NoGradGuard no_grad;
  lora_A->weight.set_data(lora_A->weight.to(opts));
  lora_B->weight.set_data(torch::zeros({out_features, r}, opts));
  lora_scaling_ = scaling;
  lora_dropout_ = dropout;
}

void LinearImpl::merge_lora() {
  if (!has_lora()) return;
  if (packed) throw Error("LoRA branches are merged into fp32 weights; merge before packing them");
  torch::NoGradGuard no_grad;
  auto delta = torch::matmul(lora_B->weight.to(torch::kFloat32), lora_A->weight.to(torch::kFloat32)) * lora_scaling_;
  weight.add_(delta.to(weight.scalar_type()));
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = nullptr;
  lora_B = nullptr;
}

void LinearImpl::pack(WeightFormat format) {
  if (format == WeightFormat::kFloat32) return;
  if (packed) throw Error("the weights are already packed (" + weight_format_name(packed->format()) + ")");
  packed = pack_and_release(weight, format);
}

void pack_linears(torch::nn::Module& module, WeightFormat format) {
  for (auto& child : module.modules(/*include_self=*/true))
    if (auto* linear = dynamic_cast<LinearImpl*>(child.get())) linear->pack(format);
}

torch::Tensor bloom_gelu(const torch::Tensor& x) {
  if (is_bf16_on_cpu(x) && !grad_needed(x)) {
    RECORD_FUNCTION("medvqa::bloom_gelu", std::vector<c10::IValue>{});  // named in profiles
    auto in = x.contiguous();
    auto y = torch::empty_like(in);
    kernels::bloom_gelu_bf16(reinterpret_cast<const uint16_t*>(in.data_ptr<at::BFloat16>()),
                             reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()), in.numel());
    return y;
  }
  if (is_bf16_on_cpu(x)) return torch::gelu(x.to(torch::kFloat32), "tanh").to(x.scalar_type());
  return torch::gelu(x, "tanh");
}

torch::Tensor gelu_erf(const torch::Tensor& x) { return torch::gelu(x); }

LayerNormImpl::LayerNormImpl(int64_t dim, double eps) : dim(dim), eps(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
  bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  if (is_bf16_on_cpu(x) && x.dim() > 0 && x.size(-1) == dim && weight.scalar_type() == torch::kBFloat16 &&
      bias.scalar_type() == torch::kBFloat16 &&
      !grad_needed(x, weight, bias)) {
    RECORD_FUNCTION("medvqa::layer_norm", std::vector<c10::IValue>{});  // named in profiles
    auto in = x.contiguous();
    auto w = weight.contiguous(), b = bias.contiguous();
    auto y = torch::empty_like(in);
    auto bits = [](const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); };
    kernels::layer_norm_bf16(bits(in), bits(w), bits(b), in.numel() / dim, dim, float(eps),
                             reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()));
    return y;
  }
  if (is_bf16_on_cpu(x))
    return torch::layer_norm(x.to(torch::kFloat32), {dim}, weight.to(torch::kFloat32), bias.to(torch::kFloat32), eps)
        .to(x.scalar_type());
  return torch::layer_norm(x, {dim}, weight, bias, eps);
}

double lowest_value(const torch::Tensor& x) {
  switch (x.scalar_type()) {
    case torch::kFloat64: return std::numeric_limits<double>::lowest();
    case torch::kFloat16: return -65504.0;
    case torch::kBFloat16: return -3.3895313892515355e38;
    default: return std::numeric_limits<float>::lowest();
  }
}

}  // namespace medvqa::model
