#pragma once
// Custom differentiable ops, as libtorch's torch::autograd::Function:
//
//   struct MulConst : xg::autograd::Function<MulConst> {
//     static xg::Tensor forward(xg::autograd::AutogradContext* ctx, xg::Tensor x, double c) {
//       ctx->saved_data["c"] = c;
//       return x * c;
//     }
//     static xg::TensorList backward(xg::autograd::AutogradContext* ctx, xg::TensorList grads) {
//       return {grads[0] * ctx->saved_data["c"].toDouble(), xg::Tensor()};  // one per forward argument
//     }
//   };
//   xg::Tensor y = MulConst::apply(x, 2.0);
#include <cxxabi.h>

#include <map>
#include <string>
#include <typeinfo>
#include <variant>

#include "xgrad/grad_mode.hpp"
#include "xgrad/graph.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad::autograd {

// A small tagged value for ctx->saved_data (libtorch's IValue, reduced to what ops need).
class IValue {
 public:
  IValue() = default;
  IValue(double v) : v_(v) {}                   // NOLINT
  IValue(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  IValue(int64_t v) : v_(v) {}                  // NOLINT
  IValue(bool v) : v_(v) {}                     // NOLINT
  IValue(std::string v) : v_(std::move(v)) {}   // NOLINT
  IValue(const char* v) : v_(std::string(v)) {} // NOLINT
  IValue(Tensor v) : v_(std::move(v)) {}        // NOLINT
  IValue(Shape v) : v_(std::move(v)) {}         // NOLINT
  double toDouble() const { return get<double>("double"); }
  int64_t toInt() const { return get<int64_t>("int"); }
  bool toBool() const { return get<bool>("bool"); }
  const std::string& toStringRef() const { return get<std::string>("string"); }
  const Tensor& toTensor() const { return get<Tensor>("Tensor"); }
  const Shape& toIntVector() const { return get<Shape>("int vector"); }

 private:
  template <class T>
  const T& get(const char* what) const {
    const T* p = std::get_if<T>(&v_);
    XG_CHECK(p, "IValue: saved_data entry is not a ", what);
    return *p;
  }
  std::variant<std::monostate, double, int64_t, bool, std::string, Tensor, Shape> v_;
};

class AutogradContext {
 public:
  void save_for_backward(TensorList to_save) { to_save_ = std::move(to_save); }
  TensorList get_saved_variables() const {
    TensorList out;
    auto owner = node_.lock();
    for (const auto& s : saved_) out.push_back(s.unpack(owner, name_));
    return out;
  }
  void mark_non_differentiable(const TensorList& outputs) {
    for (const auto& t : outputs) non_differentiable_.push_back(t.impl_ptr().get());
  }
  bool needs_input_grad(size_t i) const { return i < needs_.size() && needs_[i]; }
  std::map<std::string, IValue> saved_data;

  // Used by Function::apply.
  TensorList to_save_;
  std::vector<SavedVariable> saved_;
  std::weak_ptr<Node> node_;
  std::vector<bool> needs_;  // per forward argument
  std::vector<TensorImpl*> non_differentiable_;
  std::string name_;
};

template <class T>
std::string type_name() {
  int status = 0;
  char* d = abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : typeid(T).name();
  std::free(d);
  return s;
}

template <class F>
struct CppNode : Node {
  AutogradContext ctx;
  std::vector<bool> is_tensor_arg;  // per forward argument
  std::string name() const override { return ctx.name_; }

  TensorList apply(TensorList&& grads) override {
    for (size_t i = 0; i < grads.size(); ++i)  // as libtorch: undefined grads arrive as zeros
      if (!grads[i].defined()) grads[i] = zeros(output_meta[i].shape(), output_meta[i].dtype);
    TensorList r = F::backward(&ctx, std::move(grads));
    XG_CHECK(r.size() == is_tensor_arg.size(), ctx.name_, "::backward returned ", r.size(),
             " gradients, expected one per forward argument (", is_tensor_arg.size(), ")");
    TensorList out;
    for (size_t i = 0; i < r.size(); ++i) {
      if (is_tensor_arg[i]) out.push_back(r[i]);
      else XG_CHECK(!r[i].defined(), ctx.name_, "::backward returned a gradient for argument ", i,
                    ", which is not a Tensor");
    }
    return out;
  }
  void release_variables() override {
    for (auto& s : ctx.saved_) s.reset();
  }
  std::vector<const SavedVariable*> saved_variables() const override { return live_saved(ctx.saved_); }
};

template <class F>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    auto node = std::make_shared<CppNode<F>>();
    node->ctx.name_ = type_name<F>() + "Backward";
    node->ctx.node_ = node;
    TensorList tensor_inputs;
    auto collect = [&](const auto& a) {
      using A = std::decay_t<decltype(a)>;
      bool is_t = std::is_same_v<A, Tensor>;
      node->is_tensor_arg.push_back(is_t);
      if constexpr (std::is_same_v<A, Tensor>) {
        tensor_inputs.push_back(a);
        node->ctx.needs_.push_back(a.defined() && a.requires_grad() && GradMode::is_enabled());
      } else {
        node->ctx.needs_.push_back(false);
      }
    };
    (collect(args), ...);
    const bool record = any_requires_grad(tensor_inputs);

    using R = decltype(F::forward(&node->ctx, std::forward<Args>(args)...));
    static_assert(std::is_same_v<R, Tensor> || std::is_same_v<R, TensorList>,
                  "Function::forward must return Tensor or TensorList");
    R result;
    {
      NoGradGuard ng;
      result = F::forward(&node->ctx, std::forward<Args>(args)...);
    }
    TensorList outputs;
    if constexpr (std::is_same_v<R, Tensor>) outputs = {result};
    else outputs = result;

    if (record) connect(*node, tensor_inputs, outputs);
    else
      for (const auto& s : node->ctx.to_save_) node->ctx.saved_.emplace_back(s, false);
    node->ctx.to_save_.clear();
    if constexpr (std::is_same_v<R, Tensor>) return outputs[0];
    else return outputs;
  }

 private:
  // Edges to the inputs, the floating outputs marked as the node's (unless non-differentiable),
  // then what ctx saved (outputs saved without their grad_fn, which would be a cycle).
  static void connect(CppNode<F>& node, const TensorList& inputs, TensorList& outputs) {
    for (const auto& in : inputs) {
      node.next_edges.push_back(gradient_edge(in));
      node.input_meta.push_back(in.defined() ? TensorMeta{in.sizes(), in.dtype()} : TensorMeta{});
    }
    const auto& non_diff = node.ctx.non_differentiable_;
    for (uint32_t i = 0; i < outputs.size(); ++i) {
      Tensor& o = outputs[i];
      XG_CHECK(o.defined(), node.ctx.name_, ": forward returned an undefined tensor at output ", i);
      for (const auto& in : inputs)  // returning an input as is: give the output its own identity
        if (in.is_same(o)) o = o.variable_data();
      node.output_meta.push_back({o.sizes(), o.dtype()});
      if (std::find(non_diff.begin(), non_diff.end(), o.impl_ptr().get()) != non_diff.end() || !o.is_floating_point())
        continue;
      o.impl().grad_fn = node.shared_from_this();
      o.impl().output_nr = i;
      o.impl().requires_grad = true;
    }
    for (const auto& s : node.ctx.to_save_) {
      bool is_out = false;
      for (const auto& o : outputs) is_out |= s.defined() && s.is_same(o);
      node.ctx.saved_.emplace_back(s, is_out);
    }
  }
};

}  // namespace xgrad::autograd
