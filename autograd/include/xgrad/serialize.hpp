#pragma once
// Tensors to and from NumPy's .npy and .npz formats, and Hugging Face's .safetensors. Writes are atomic (temporary file, then rename);
// reading checks every header field and length, so a truncated or corrupted file is an Error.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

std::string to_npy_bytes(const Tensor& t);
// `what` names the source in error messages (a path, or "archive.npz:entry").
Tensor from_npy_bytes(const std::string& bytes, const std::string& what = "npy");

void save_npy(const std::string& path, const Tensor& t);
Tensor load_npy(const std::string& path);

// An .npz is a zip of "<name>.npy" entries, as numpy.savez writes (zip64 read through libzip).
void save_npz(const std::string& path, const NamedTensors& tensors);
NamedTensors load_npz(const std::string& path);

// safetensors (what PyTorch and Hugging Face users have on disk): F32, F64, I64 and BOOL written
// (little-endian, data 8-byte aligned, optional string metadata); F32, F64, I64, BOOL, BF16 and F16
// read, BF16 and F16 widened to Float32. Every header field is checked before anything is allocated.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
std::string to_safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});
NamedTensors from_safetensors_bytes(const std::string& bytes, const std::string& what = "safetensors",
                                    std::map<std::string, std::string>* metadata = nullptr);

// Writes bytes to path through a temporary file in the same folder and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace xgrad
