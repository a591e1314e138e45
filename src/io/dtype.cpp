#include "io/dtype.h"

#include "io/error.h"

namespace medvqa::io {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
  torch::ScalarType scalar;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8, torch::kFloat64}, {DType::F32, "F32", 4, torch::kFloat32},
    {DType::F16, "F16", 2, torch::kFloat16}, {DType::BF16, "BF16", 2, torch::kBFloat16},
    {DType::I64, "I64", 8, torch::kInt64},   {DType::I32, "I32", 4, torch::kInt32},
    {DType::I16, "I16", 2, torch::kInt16},   {DType::I8, "I8", 1, torch::kInt8},
    {DType::U8, "U8", 1, torch::kUInt8},     {DType::BOOL, "BOOL", 1, torch::kBool},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes)
    if (i.dtype == dtype) return i;
  throw Error("unknown dtype enum value");
}

}  // namespace

const char* dtype_name(DType dtype) { return info(dtype).name; }
size_t dtype_size(DType dtype) { return info(dtype).size; }
torch::ScalarType to_scalar_type(DType dtype) { return info(dtype).scalar; }

std::optional<DType> dtype_from_name(const std::string& name) {
  for (const auto& i : kDTypes)
    if (name == i.name) return i.dtype;
  return std::nullopt;
}

DType from_scalar_type(torch::ScalarType type) {
  for (const auto& i : kDTypes)
    if (i.scalar == type) return i.dtype;
  throw Error(std::string("tensors of type ") + c10::toString(type) + " cannot be saved");
}

}  // namespace medvqa::io
