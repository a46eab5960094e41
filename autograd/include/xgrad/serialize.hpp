#pragma once
// Tensors to and from NumPy's .npy and .npz formats. Writes are atomic (temporary file, then rename);
// reading checks every header field and length, so a truncated or corrupted file is an Error.
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

// Writes bytes to path through a temporary file in the same folder and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace xgrad
