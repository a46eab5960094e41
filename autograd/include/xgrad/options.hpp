#pragma once
// XG_ARG(T, name): a fluent option, as libtorch's TORCH_ARG — options.name(v) sets and returns
// *this, options.name() reads.
// XG_COMMA lets a type with a comma (std::pair<a XG_COMMA b>) pass through the macro.
#define XG_COMMA ,
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
