// Nodes, saved variables, and how an op records itself.
#include "xgrad/graph.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>

#include "object_pool.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad::autograd {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};
}

Node::Node() : sequence_nr(next_sequence_nr++) {}

// Freeing a long chain of nodes recursively would overflow the stack; children whose last
// reference is ours are released from one loop instead.
Node::~Node() {
  thread_local bool draining = false;
  thread_local std::vector<std::shared_ptr<Node>> pending;
  for (auto& e : next_edges)
    if (e.fn && e.fn.use_count() == 1) pending.push_back(std::move(e.fn));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    auto n = std::move(pending.back());
    pending.pop_back();
    n.reset();
  }
  draining = false;
}


// ---------------------------------------------------------------- AccumulateGrad

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> v) : variable(std::move(v)) {
  output_meta.push_back({variable->sizes, variable->dtype});
}

namespace {
// One lock per leaf, as PyTorch's AccumulateGrad holds: backward passes running at once in several
// threads into shared leaves (one model trained from two threads) sum their gradients correctly,
// and a leaf gets one accumulator. Striped by address; a stripe is never held while taking another.
std::mutex& leaf_mutex(const TensorImpl* leaf) {
  static std::array<std::mutex, 64> stripes;
  return stripes[(reinterpret_cast<uintptr_t>(leaf) / alignof(TensorImpl)) % stripes.size()];
}
}  // namespace

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor g = std::move(grads[0]);
  if (!g.defined()) return {};
  if (GradMode::is_enabled()) {
    // create_graph: the accumulated gradient stays differentiable. The sum is recorded outside the
    // lock (recording takes other leaves' locks); it is stored only if no other thread stored one
    // meanwhile, else summed again.
    for (;;) {
      std::shared_ptr<TensorImpl> before;
      {
        std::lock_guard<std::mutex> lock(leaf_mutex(variable.get()));
        before = variable->grad;
      }
      std::shared_ptr<TensorImpl> sum = before ? (Tensor(before) + g).impl_ptr() : g.impl_ptr();
      std::lock_guard<std::mutex> lock(leaf_mutex(variable.get()));
      if (variable->grad != before) continue;
      variable->grad = std::move(sum);
      break;
    }
    run_post_accumulate_hooks();
    return {};
  }
  {
    std::lock_guard<std::mutex> lock(leaf_mutex(variable.get()));
    auto& old = variable->grad;
    if (!old) {
      // Take the buffer when nobody else holds it; otherwise copy so later += can't alias.
      bool sole = g.impl_ptr().use_count() == 1 && g.impl().storage.use_count() == 1 && !g.requires_grad();
      old = sole ? g.impl_ptr() : g.detach().clone().impl_ptr();
    } else {
      Tensor(old).add_(g);
    }
  }
  run_post_accumulate_hooks();
  return {};
}

void AccumulateGrad::run_post_accumulate_hooks() {
  if (!variable->hooks || variable->hooks->post_accumulate.empty()) return;
  auto hooks = variable->hooks->post_accumulate;  // a copy: a hook may remove itself
  Tensor v(variable);
  for (auto& [id, fn] : hooks) fn(v);
}

// ---------------------------------------------------------------- SavedVariable

SavedVariable::SavedVariable(const Tensor& t, bool is_output) : defined_(t.defined()), is_output_(is_output) {
  if (!defined_) return;
  version_ = t._version();
  requires_grad_ = t.requires_grad();
  output_nr_ = t.impl().output_nr;
  // An output would own its grad_fn, which owns this: keep only the data and reconnect on unpack.
  data_ = is_output ? t.variable_data() : t;
}

Tensor SavedVariable::unpack(const std::shared_ptr<Node>& owner, const std::string& op) const {
  if (!defined_) return Tensor();
  XG_CHECK(data_.defined(), "Trying to backward through the graph a second time (or to directly access saved tensors "
           "after they have already been freed) in ", op, ". Specify retain_graph=true on the first backward call.");
  XG_CHECK(data_._version() == version_,
           "one of the variables needed for gradient computation has been modified by an inplace operation: ",
           dtype_name(data_.dtype()), data_.sizes(), " is at version ", data_._version(), "; expected version ",
           version_, " instead (saved by ", op, ")");
  if (!is_output_) return data_;
  Tensor t = data_.variable_data();
  if (requires_grad_) {
    t.impl().grad_fn = owner;
    t.impl().output_nr = output_nr_;
    t.impl().requires_grad = true;
  }
  return t;
}

// ---------------------------------------------------------------- edges

TensorHooks* hooks_of(Node& node, uint32_t output_nr) {
  if (auto* acc = dynamic_cast<AccumulateGrad*>(&node)) return acc->variable->hooks.get();
  return output_nr < node.tensor_hooks.size() ? node.tensor_hooks[output_nr].get() : nullptr;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  auto& impl = t.impl();
  if (impl.grad_fn) return {impl.grad_fn, impl.output_nr};
  std::lock_guard<std::mutex> lock(leaf_mutex(&impl));
  auto acc = impl.grad_accumulator.lock();
  if (!acc) {
    acc = detail::make_pooled<AccumulateGrad>(t.impl_ptr());
    impl.grad_accumulator = acc;
  }
  return {acc, 0};
}

// ---------------------------------------------------------------- record

namespace {

// The node every built-in op records: a name, saved tensors and a backward lambda.
struct FunctionNode : Node {
  const char* name_ = "";  // record() is given string literals
  std::pmr::vector<SavedVariable> saved{&arena_resource_};
  BackwardFn backward;
  bool released = false;

  std::string name() const override { return name_; }

  TensorList apply(TensorList&& grads) override {
    XG_CHECK(!released, "Trying to backward through the graph a second time (or to directly access saved tensors "
             "after they have already been freed) in ", name_,
             ". Specify retain_graph=true on the first backward call.");
    if (std::none_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); }))
      return TensorList(next_edges.size());
    TensorList unpacked;
    unpacked.reserve(saved.size());
    auto self = shared_from_this();
    for (auto& s : saved) unpacked.push_back(s.unpack(self, name_));
    std::vector<bool> needs(next_edges.size());
    for (size_t i = 0; i < needs.size(); ++i) needs[i] = next_edges[i].valid();
    return backward(BackwardCtx{unpacked, grads[0], needs, grads});
  }

  void release_variables() override {
    for (auto& s : saved) s.reset();
    backward = nullptr;  // lambdas may capture tensors too
    released = true;
  }

  std::vector<const SavedVariable*> saved_variables() const override { return live_saved(saved); }
};

}  // namespace

bool any_requires_grad(std::span<const Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

namespace {

// Connects `outputs` to a new node: edges to the inputs, the outputs marked (first, so that saving
// one sees requires_grad and its output_nr), then the saved tensors.
void connect(const char* name, std::span<const Tensor> inputs, std::span<Tensor> outputs,
             std::span<const Tensor> saved, BackwardFn backward) {
  auto node = detail::make_pooled<FunctionNode>();
  node->name_ = name;
  node->next_edges.reserve(inputs.size());
  node->input_meta.reserve(inputs.size());
  for (const auto& in : inputs) {
    node->next_edges.push_back(gradient_edge(in));
    node->input_meta.push_back(in.defined() ? TensorMeta(in.sizes(), in.dtype()) : TensorMeta());
  }
  for (uint32_t k = 0; k < outputs.size(); ++k) {
    node->output_meta.emplace_back(outputs[k].sizes(), outputs[k].dtype());
    auto& oi = outputs[k].impl();
    oi.grad_fn = node;
    oi.output_nr = k;
    oi.requires_grad = true;
  }
  node->saved.reserve(saved.size());
  for (const auto& s : saved) {
    XG_CHECK(!s.defined() || !s.impl().storage->inference, name,
             ": an inference tensor (made under InferenceMode) cannot be saved for backward; clone() it outside "
             "InferenceMode first (shape ", s.sizes(), ")");
    bool is_output = false;
    for (const auto& o : outputs) is_output |= s.defined() && s.is_same(o);
    node->saved.emplace_back(s, is_output);
  }
  node->backward = std::move(backward);
}

}  // namespace

Tensor record(const char* name, std::span<const Tensor> inputs, Tensor output, std::span<const Tensor> saved,
              BackwardFn backward) {
  if (!any_requires_grad(inputs)) return output;
  connect(name, inputs, std::span<Tensor>(&output, 1), saved, std::move(backward));
  return output;
}

TensorList record_outputs(const char* name, std::span<const Tensor> inputs, TensorList outputs,
                          std::span<const Tensor> saved, BackwardFn backward) {
  if (!any_requires_grad(inputs)) return outputs;
  connect(name, inputs, outputs, saved, std::move(backward));
  return outputs;
}

}  // namespace xgrad::autograd
