#include "xgrad/checkpoint.hpp"

#include <memory>
#include <optional>
#include <random>
#include <unordered_set>

#include "xgrad/engine.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/random.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

namespace {

std::mt19937_64 generator_state() {
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  return global_generator();
}
void set_generator_state(const std::mt19937_64& state) {
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  global_generator() = state;
}

// Copies of the inputs cut from their history, wanting a gradient where the input does.
TensorList cut(const TensorList& inputs) {
  TensorList out;
  for (const Tensor& in : inputs) {
    Tensor d = in.defined() ? in.detach() : in;
    if (d.defined() && in.requires_grad()) d.requires_grad_(true);
    out.push_back(d);
  }
  return out;
}

// The leaves needing a gradient (fn's parameters) that `outputs` were computed from, other than
// `own` (fn's cut inputs), in the order first met.
TensorList reachable_leaves(const TensorList& outputs, const TensorList& own) {
  std::unordered_set<const void*> skip, seen;
  for (const Tensor& t : own)
    if (t.defined()) skip.insert(t.impl_ptr().get());
  TensorList leaves;
  std::vector<autograd::Node*> stack;
  auto leaf = [&](const std::shared_ptr<TensorImpl>& impl) {
    if (!skip.count(impl.get()) && seen.insert(impl.get()).second) leaves.push_back(Tensor(impl));
  };
  for (const Tensor& o : outputs) {
    if (!o.requires_grad()) continue;
    if (o.grad_fn()) {
      if (seen.insert(o.grad_fn().get()).second) stack.push_back(o.grad_fn().get());
    } else {
      leaf(o.impl_ptr());  // fn returned a parameter itself
    }
  }
  while (!stack.empty()) {
    autograd::Node* n = stack.back();
    stack.pop_back();
    for (const auto& e : n->next_edges) {
      if (!e.valid()) continue;
      if (auto* acc = dynamic_cast<autograd::AccumulateGrad*>(e.fn.get())) leaf(acc->variable);
      else if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  return leaves;
}

}  // namespace

// Forward: fn runs with grad on over cut inputs, to find the parameters it uses (they become the
// node's inputs after the real ones, so their gradients flow like any op's — under xg::grad too);
// the graph it built is dropped at once, so only one block's activations ever live at a time.
TensorList checkpoint(const std::function<TensorList(const TensorList&)>& fn, const TensorList& inputs,
                      bool preserve_rng_state) {
  XG_CHECK(fn, "checkpoint: the function is empty");
  if (!GradMode::is_enabled()) return fn(inputs);
  auto rng = preserve_rng_state ? std::make_shared<std::mt19937_64>(generator_state()) : nullptr;
  TensorList own = cut(inputs);
  TensorList outputs = fn(own);
  TensorList params = reachable_leaves(outputs, own);
  for (Tensor& out : outputs) {
    XG_CHECK(out.defined(), "checkpoint: the function returned an undefined tensor");
    out = out.requires_grad() && !out.grad_fn() ? out.detach().clone() : out.detach();
  }
  TensorList all = inputs;
  all.insert(all.end(), params.begin(), params.end());
  if (!autograd::any_requires_grad(all)) return outputs;
  const size_t n_out = outputs.size();
  return autograd::record_outputs(
      "CheckpointBackward", all, outputs, inputs,
      [fn, rng, params, n_out](const autograd::BackwardCtx& c) -> TensorList {
        const bool create_graph = GradMode::is_enabled();
        // Under create_graph the block is recomputed on the inputs themselves, so the gradients it
        // returns stay connected to them (grad-of-grad); otherwise on cut copies.
        const size_t n_in = c.saved.size();
        TensorList in = create_graph ? c.saved : cut(c.saved);
        TensorList outs;
        {
          // The forward's draws again (the same dropout masks); the stream goes on afterwards as it
          // was, also when fn throws.
          struct Restore {
            std::optional<std::mt19937_64> state;
            ~Restore() {
              if (state) set_generator_state(*state);
            }
          } restore;
          if (rng) {
            restore.state = generator_state();
            set_generator_state(*rng);
          }
          AutoGradMode record(true);
          outs = fn(in);
        }
        XG_CHECK(outs.size() == n_out, "checkpoint: the function returned ", outs.size(),
                 " tensors when recomputed, ", n_out, " in the forward");
        TensorList o, g, targets;
        std::vector<size_t> where;
        for (size_t i = 0; i < outs.size(); ++i)
          if (outs[i].requires_grad() && i < c.grads.size() && c.grads[i].defined()) {
            o.push_back(outs[i]);
            g.push_back(c.grads[i]);
          }
        for (size_t i = 0; i < n_in + params.size(); ++i) {
          const Tensor& t = i < n_in ? in[i] : params[i - n_in];
          if (c.needs_input_grad(i) && t.defined() && t.requires_grad()) {
            targets.push_back(t);
            where.push_back(i);
          }
        }
        TensorList result(n_in + params.size());
        if (o.empty() || targets.empty()) return result;
        TensorList grads = grad(o, targets, g, create_graph, create_graph, /*allow_unused=*/true);
        for (size_t j = 0; j < where.size(); ++j) result[where[j]] = grads[j];
        return result;
      });
}

}  // namespace xgrad
