#include "model/packed_weight.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "kernels/bf16_gemm.h"
#include "kernels/int4_kernels.h"
#include "kernels/packed_kernels.h"
#include "model/linear_call.h"

namespace medvqa::model {

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "float32" || name == "fp32") return WeightFormat::kFloat32;
  if (name == "bfloat16" || name == "bf16") return WeightFormat::kBFloat16;
  if (name == "int8") return WeightFormat::kInt8;
  if (name == "int4") return WeightFormat::kInt4;
  throw Error("unknown weight format '" + name + "' (float32, bfloat16, int8 or int4)");
}

WeightFormat weight_format_for(torch::Dtype compute_dtype, torch::Device device) {
  return compute_dtype == torch::kBFloat16 && device.is_cpu() ? WeightFormat::kBFloat16 : WeightFormat::kFloat32;
}

std::string weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBFloat16: return "bfloat16";
    case WeightFormat::kInt8: return "int8";
    case WeightFormat::kInt4: return "int4";
    default: return "float32";
  }
}

namespace {
const uint16_t* bf16_bits(const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); }
// The 4-bit format's fp16 scales, held as int16 (libtorch's Half would convert them).
const uint16_t* half_bits(const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<int16_t>()); }
uint16_t* bf16_bits(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }
// Rows of a weight widened per block for a long input's product: 1 Mi values (a few MiB).
int64_t widened_block_rows(int64_t k) { return std::max<int64_t>(64, (int64_t(1) << 20) / std::max<int64_t>(k, 1)); }
}  // namespace

PackedWeight::PackedWeight(const torch::Tensor& weight, WeightFormat format) : format_(format) {
  if (weight.dim() != 2) throw Error("packed weights are matrices; got " + std::to_string(weight.dim()) + " dimensions");
  out_features_ = weight.size(0);
  in_features_ = weight.size(1);
  if (!weight.device().is_cpu())
    throw Error("bfloat16/int8 weight storage is for the CPU kernels; on " + weight.device().str() +
                " use the bfloat16 compute dtype instead");
  torch::NoGradGuard no_grad;
  // Panels only for a bf16 model: its inputs are bf16 (fp32 inputs would meet widened blocks).
  if (format == WeightFormat::kBFloat16 && bf16_panels_for(weight.scalar_type(), weight.device())) {
    auto rows = weight.contiguous();
    data_ = torch::empty({kernels::bf16_panels_size(out_features_, in_features_)}, torch::kBFloat16);
    kernels::pack_bf16_panels(bf16_bits(rows), out_features_, in_features_, bf16_bits(data_));
    panels_ = true;
    return;
  }
  auto w = weight.to(torch::kFloat32);
  switch (format) {
    case WeightFormat::kBFloat16: data_ = w.to(torch::kBFloat16).contiguous(); break;
    case WeightFormat::kInt8: {
      // Symmetric per output row: the largest magnitude maps to ±127.
      auto absmax = w.abs().amax(1);
      scale_ = torch::where(absmax > 0, absmax / 127.0, torch::ones_like(absmax)).contiguous();
      data_ = (w / scale_.unsqueeze(1)).round().clamp(-127, 127).to(torch::kInt8).contiguous();
      break;
    }
    case WeightFormat::kInt4: {
      if (in_features_ % kernels::kInt4Group != 0)
        throw Error("int4 weights come in groups of " + std::to_string(kernels::kInt4Group) + " inputs; this matrix has " +
                    std::to_string(in_features_) + " (use int8)");
      const double absmax = w.numel() ? w.abs().max().item<double>() : 0.0;
      if (!std::isfinite(absmax) || absmax / 8 > 65504)
        throw Error("int4 weights: a value of magnitude " + std::to_string(absmax) + " has no fp16 group scale (use int8)");
      w = w.contiguous();
      data_ = torch::empty({out_features_, kernels::int4_bytes(1, in_features_)}, torch::kUInt8);
      scale_ = torch::empty({out_features_, kernels::int4_scales(1, in_features_)}, torch::kInt16);
      kernels::quantize_int4(w.data_ptr<float>(), out_features_, in_features_, data_.data_ptr<uint8_t>(),
                             reinterpret_cast<uint16_t*>(scale_.data_ptr<int16_t>()));
      break;
    }
    default: throw Error("float32 weights are not packed");
  }
}

int64_t PackedWeight::nbytes() const { return int64_t(data_.nbytes()) + (scale_.defined() ? int64_t(scale_.nbytes()) : 0); }

torch::Tensor PackedWeight::widen(int64_t first_row, int64_t count, torch::Dtype dtype) const {
  if (panels_) {
    auto out = torch::empty({count, in_features()}, torch::kBFloat16);
    kernels::unpack_bf16_panels(bf16_bits(data_), in_features(), first_row, count, bf16_bits(out));
    return out.to(dtype);
  }
  if (format_ == WeightFormat::kInt8 && dtype == torch::kBFloat16) {  // one pass instead of three
    auto out = torch::empty({count, in_features()}, torch::kBFloat16);
    kernels::int8_to_bf16(data_.data_ptr<int8_t>() + first_row * in_features(), scale_.data_ptr<float>() + first_row,
                          count, in_features(), reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>()));
    return out;
  }
  if (format_ == WeightFormat::kInt4) {
    auto out = torch::empty({count, in_features()});
    kernels::int4_to_float(data_[first_row].data_ptr<uint8_t>(), half_bits(scale_) + first_row * scale_.size(1), count,
                           in_features(), out.data_ptr<float>());
    return out.to(dtype);
  }
  auto rows = data_.narrow(0, first_row, count).to(torch::kFloat32);
  if (format_ == WeightFormat::kInt8) rows.mul_(scale_.narrow(0, first_row, count).unsqueeze(1));
  return rows.to(dtype);
}

torch::Tensor PackedWeight::dequantize() const { return widen(0, out_features(), torch::kFloat32); }

int64_t PackedWeight::checked_row(int64_t id) const {
  if (id < 0 || id >= out_features())
    throw Error("row " + std::to_string(id) + " of a packed weight with " + std::to_string(out_features()) + " rows");
  return id;
}

torch::Tensor PackedWeight::rows(const torch::Tensor& ids) const {
  auto flat = ids.reshape({-1}).to(torch::kLong).contiguous();
  torch::Tensor rows;
  if (panels_) {
    auto bf16 = torch::empty({flat.numel(), in_features()}, torch::kBFloat16);
    const int64_t* id = flat.data_ptr<int64_t>();
    for (int64_t i = 0; i < flat.numel(); ++i) {
      kernels::unpack_bf16_panels(bf16_bits(data_), in_features(), checked_row(id[i]), 1, bf16_bits(bf16) + i * in_features());
    }
    rows = bf16.to(torch::kFloat32);
  } else if (format_ == WeightFormat::kInt4) {
    rows = torch::empty({flat.numel(), in_features()});
    const int64_t* id = flat.data_ptr<int64_t>();
    for (int64_t i = 0; i < flat.numel(); ++i) rows[i].copy_(widen(checked_row(id[i]), 1, torch::kFloat32)[0]);
  } else {
    rows = data_.index_select(0, flat).to(torch::kFloat32);
  }
  if (format_ == WeightFormat::kInt8) rows.mul_(scale_.index_select(0, flat).unsqueeze(1));
  auto sizes = ids.sizes().vec();
  sizes.push_back(in_features());
  return rows.view(sizes);
}

kernels::WeightStorage PackedWeight::storage() const {
  if (panels_) return kernels::WeightStorage::kPackedBf16Panels;
  switch (format_) {
    case WeightFormat::kInt8: return kernels::WeightStorage::kPackedInt8;
    case WeightFormat::kInt4: return kernels::WeightStorage::kPackedInt4;
    default: return kernels::WeightStorage::kPackedBf16Rows;
  }
}

int64_t PackedWeight::kernel_rows_limit(torch::Dtype input_dtype) const {
  return kernels::packed_rows_limit(storage(), value_type(input_dtype));
}

kernels::LinearKernel PackedWeight::kernel_for(const torch::Tensor& x, const torch::Tensor& bias) const {
  return kernels::choose_linear_kernel(packed_linear_call(x, storage(), out_features(), bias));
}

torch::Tensor PackedWeight::int8_panel_blocks(const torch::Tensor& x) const {
  // Blocks of ~2 MiB of widened weights, as panels: the panel GEMM instead of widening to rows
  // and oneDNN reordering them again.
  const int64_t k = in_features(), n = out_features();
  const int64_t block = widened_block_rows(k) / kernels::kPanelRows * kernels::kPanelRows;
  auto y = torch::empty({x.size(0), n}, torch::kBFloat16);
  auto panels = torch::empty({kernels::bf16_panels_size(std::min(block, n), k)}, torch::kBFloat16);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    kernels::pack_int8_panels(data_.data_ptr<int8_t>() + first * k, scale_.data_ptr<float>() + first, count, k,
                              bf16_bits(panels));
    kernels::bf16_panel_gemm(bf16_bits(x), x.size(0), k, bf16_bits(panels), count, nullptr, bf16_bits(y) + first, n);
  }
  return y;
}

torch::Tensor PackedWeight::widened_blocks(const torch::Tensor& x) const {
  // Blocks of ~4 MiB of widened weights: GEMM-speed products without a full wide copy.
  const int64_t n = out_features();
  auto y = torch::empty({x.size(0), n}, x.options());
  const int64_t block = widened_block_rows(in_features());
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    y.narrow(1, first, count).copy_(torch::mm(x, widen(first, count, x.scalar_type()).t()));
  }
  return y;
}

torch::Tensor bf16_dot_product(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t k = w.size(1), n = w.size(0);
  auto x2 = x.reshape({-1, k}).contiguous();
  auto y = torch::empty({x2.size(0), n}, torch::kFloat32);
  auto bits = [](const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); };
  kernels::bf16_dot_rows(bits(x2), x2.size(0), bits(w), k, n, y.data_ptr<float>());
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  return y.view(sizes);
}

torch::Tensor PackedWeight::linear(const torch::Tensor& x, const torch::Tensor& bias) const {
  const int64_t k = in_features(), n = out_features();
  if (x.dim() == 0 || x.size(-1) != k)
    throw Error("packed linear: input has " + std::to_string(x.dim() ? x.size(-1) : 0) + " features, expected " +
                std::to_string(k));
  if (!x.device().is_cpu()) throw Error("packed weights compute on the CPU; the input is on " + x.device().str());
  if (torch::GradMode::is_enabled() && x.requires_grad())
    throw Error("packed weights are for inference: no gradient flows through them");
  RECORD_FUNCTION("medvqa::packed_linear", std::vector<c10::IValue>{});  // named in profiles
  auto x2 = x.reshape({-1, k});
  const int64_t m = x2.size(0);
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  const auto gemm_dtype = kernels::gemm_in_bf16(value_type(x.scalar_type())) ? torch::kBFloat16 : torch::kFloat32;
  torch::Tensor y;
  switch (kernel_for(x2, bias)) {
    case kernels::LinearKernel::kPanelGemm: {  // adds its bias itself
      x2 = x2.contiguous();
      y = torch::empty({m, n}, torch::kBFloat16);
      auto b = bias.defined() ? bias.contiguous() : bias;
      kernels::bf16_panel_gemm(bf16_bits(x2), m, k, bf16_bits(data_), n, b.defined() ? bf16_bits(b) : nullptr,
                               bf16_bits(y), n);
      return y.view(sizes);
    }
    case kernels::LinearKernel::kBf16Dot: y = bf16_dot_product(x2, data_); break;
    case kernels::LinearKernel::kInt4Rows:
    case kernels::LinearKernel::kInt8Rows:
    case kernels::LinearKernel::kBf16Rows: {
      x2 = x2.to(torch::kFloat32).contiguous();
      y = torch::empty({m, n}, torch::kFloat32);
      const float* xp = x2.data_ptr<float>();
      float* yp = y.data_ptr<float>();
      if (format_ == WeightFormat::kInt4)
        kernels::int4_rows(xp, m, data_.data_ptr<uint8_t>(), half_bits(scale_), k, n, yp);
      else if (format_ == WeightFormat::kInt8)
        kernels::int8_rows(xp, m, data_.data_ptr<int8_t>(), scale_.data_ptr<float>(), k, n, yp);
      else
        kernels::bf16_rows(xp, m, bf16_bits(data_), k, n, yp);
      break;
    }
    case kernels::LinearKernel::kOneDnnBf16: y = torch::mm(x2.to(torch::kBFloat16).contiguous(), data_.t()); break;
    case kernels::LinearKernel::kInt8PanelBlocks: y = int8_panel_blocks(x2.to(torch::kBFloat16).contiguous()); break;
    default: y = widened_blocks(x2.to(gemm_dtype).contiguous()); break;
  }
  if (bias.defined()) y.add_(bias);  // a bf16 bias widens exactly inside the add
  return y.view(sizes).to(x.scalar_type());
}

bool bf16_panels_for(torch::Dtype dtype, torch::Device device) {
  return dtype == torch::kBFloat16 && device.is_cpu() && kernels::bf16_weights_as_panels();
}

std::shared_ptr<const PackedWeight> pack_and_release(torch::Tensor& weight, WeightFormat format) {
  auto packed = std::make_shared<const PackedWeight>(weight, format);
  weight.set_data(torch::empty({0}, weight.options()));
  return packed;
}

}  // namespace medvqa::model
