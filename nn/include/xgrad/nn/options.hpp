#pragma once
// XG_ARG(T, name): a fluent option, as libtorch's TORCH_ARG — options.name(v) sets and returns
// *this, options.name() reads.
#define XG_ARG(T, name)                                        \
 public:                                                       \
  auto& name(const T& new_##name) {                            \
    this->name##_ = new_##name;                                \
    return *this;                                              \
  }                                                            \
  const T& name() const noexcept { return this->name##_; }     \
                                                               \
 private:                                                      \
  T name##_
