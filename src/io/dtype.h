#pragma once
#include <torch/types.h>

#include <optional>
#include <string>

namespace medvqa::io {

// The element types of the HF ecosystem's checkpoint files, named as safetensors names them.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType dtype);
std::optional<DType> dtype_from_name(const std::string& name);
size_t dtype_size(DType dtype);
torch::ScalarType to_scalar_type(DType dtype);
// Throws medvqa::Error for scalar types no checkpoint format here can hold.
DType from_scalar_type(torch::ScalarType type);

}  // namespace medvqa::io
