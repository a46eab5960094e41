#pragma once
// The recorded graph: a Node per differentiable op, Edges to where each input's gradient goes,
// and SavedVariables that hold what a backward formula needs (checked against in-place writes).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::autograd {

struct Node;
class SavedVariable;

// Input `input_nr` of node `fn` receives this gradient. An edge without fn means "needs no gradient".
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

// Shape and dtype of a forward input or output (sizes kept inline up to 4 dims: no allocation).
struct TensorMeta {
  TensorMeta() = default;
  TensorMeta(const Shape& s, ScalarType t) : sizes(s.begin(), s.end()), dtype(t) {}
  Shape shape() const { return Shape(sizes.begin(), sizes.end()); }
  bool matches(const Shape& s) const { return std::equal(sizes.begin(), sizes.end(), s.begin(), s.end()); }
  xt::svector<int64_t, 4> sizes;
  ScalarType dtype = kFloat32;
};

// A tensor's gradient hooks (Tensor::register_hook, register_post_accumulate_grad_hook) with their ids.
struct TensorHooks {
  std::vector<std::pair<unsigned, std::function<Tensor(const Tensor&)>>> grad;
  std::vector<std::pair<unsigned, std::function<void(const Tensor&)>>> post_accumulate;
};

struct Node : std::enable_shared_from_this<Node> {
  Node();
  virtual ~Node();
  virtual std::string name() const = 0;
  // grads[i] is d(loss)/d(forward output i), undefined meaning zero. Returns one gradient per
  // forward input (next_edges entry); undefined for inputs that need none.
  virtual TensorList apply(TensorList&& grads) = 0;
  // Frees saved tensors once backward has passed (unless retain_graph).
  virtual void release_variables() {}
  // The tensors this node keeps for backward (to_dot draws them); empty once released.
  virtual std::vector<const SavedVariable*> saved_variables() const { return {}; }

  // The node's lists live in an arena inside the node (ops have a few inputs): one allocation per
  // recorded op instead of one per list. Larger lists spill to the heap.
  alignas(std::max_align_t) std::byte arena_[512];
  std::pmr::monotonic_buffer_resource arena_resource_{arena_, sizeof arena_};

  std::pmr::vector<Edge> next_edges{&arena_resource_};        // one per forward input
  std::pmr::vector<TensorMeta> input_meta{&arena_resource_};  // shape/dtype of each forward input: what apply must return
  std::pmr::vector<TensorMeta> output_meta{&arena_resource_};  // shape/dtype of each forward output
  std::vector<std::weak_ptr<TensorImpl>> retained;  // outputs that called retain_grad()
  // Hooks of the outputs, by output number: they outlive the output tensors, as in PyTorch.
  std::vector<std::shared_ptr<TensorHooks>> tensor_hooks;
  uint64_t sequence_nr;                  // creation order; backward runs newest first
};

// Sums gradients into a leaf's .grad().
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> variable);
  std::string name() const override { return "AccumulateGrad"; }
  TensorList apply(TensorList&& grads) override;
  std::shared_ptr<TensorImpl> variable;

 private:
  void run_post_accumulate_hooks();
};

// A tensor kept for backward. Outputs of the node itself are stored without their grad_fn (that
// would be a cycle) and reconnected on unpack; the version counter catches in-place writes.
class SavedVariable {
 public:
  SavedVariable() = default;
  SavedVariable(const Tensor& t, bool is_output);
  Tensor unpack(const std::shared_ptr<Node>& owner, const std::string& op) const;
  void reset() { data_ = Tensor(); }
  bool was_defined() const { return defined_; }
  bool is_output() const { return is_output_; }
  uint32_t output_nr() const { return output_nr_; }
  // What is kept (an output without its grad_fn); undefined once released.
  const Tensor& data() const { return data_; }

 private:
  Tensor data_;
  uint64_t version_ = 0;
  bool defined_ = false;
  bool is_output_ = false;
  bool requires_grad_ = false;
  uint32_t output_nr_ = 0;
};

// The entries of a node's saved list still held (what Node::saved_variables returns).
template <class Range>
std::vector<const SavedVariable*> live_saved(const Range& saved) {
  std::vector<const SavedVariable*> out;
  for (auto& s : saved)
    if (s.data().defined()) out.push_back(&s);
  return out;
}

// The hooks that see gradient `output_nr` of `node` (a leaf accumulator's are its variable's); may be null.
TensorHooks* hooks_of(Node& node, uint32_t output_nr);

// Where a gradient for `t` must flow: its grad_fn, or its leaf accumulator; invalid if none.
Edge gradient_edge(const Tensor& t);

}  // namespace xgrad::autograd
