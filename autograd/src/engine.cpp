// The backward pass (GraphTask): seed the roots, discover the nodes that must run, count the
// gradients each will receive, then run them newest-first once all have arrived, summing
// gradients that meet at a node.
#include "xgrad/engine.hpp"

#include <cmath>
#include <queue>
#include <unordered_map>

#include "xgrad/grad_mode.hpp"
#include "xgrad/graph.hpp"
#include "xgrad/ops.hpp"

namespace xgrad {

using autograd::Edge;
using autograd::Node;

namespace {

bool has_nonfinite(const Tensor& t) {
  if (!t.is_floating_point()) return false;
  return dispatch_floating(t.dtype(), "anomaly", [&]<class T>() {
    const T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(p[i])) return true;
    return false;
  });
}

// Checks what a node returned against its forward inputs: count, shape (reducing a broadcast
// gradient if a custom backward forgot to) and dtype.
void validate_outputs(Node& node, TensorList& grads) {
  XG_CHECK(grads.size() == node.next_edges.size(), node.name(), " returned ", grads.size(),
           " gradients, expected ", node.next_edges.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    Tensor& g = grads[i];
    if (!g.defined() || !node.next_edges[i].valid()) continue;
    const auto& meta = node.input_meta[i];
    if (!meta.matches(g.sizes())) {
      Shape b;
      try { b = broadcast_shapes(meta.shape(), g.sizes()); } catch (const Error&) {}
      XG_CHECK(b == g.sizes(), node.name(), " returned an invalid gradient at index ", i, ": got shape ",
               g.sizes(), " but expected shape compatible with ", meta.shape());
      g = sum_to(g, meta.shape());
    }
    if (g.dtype() != meta.dtype) g = g.to(meta.dtype);
    if (AnomalyMode::is_enabled() && has_nonfinite(g))
      throw Error(str("Function '", node.name(), "' returned nan or inf values in its ", i, "th output."));
  }
}

void accumulate(Tensor& slot, const Tensor& g) {
  if (!g.defined()) return;
  // Out of place: `g` may be shared with another branch of the graph.
  slot = slot.defined() ? slot + g : g;
}

// Runs the tensor hooks of each gradient the node receives; a hook's result replaces the gradient.
// `leaf` is the node as a leaf accumulator (its hooks are its variable's), else null.
void run_grad_hooks(Node& node, autograd::AccumulateGrad* leaf, TensorList& grads) {
  if (!leaf && node.tensor_hooks.empty()) return;  // the common case, checked without a lookup
  for (uint32_t i = 0; i < grads.size(); ++i) {
    autograd::TensorHooks* h = autograd::hooks_of(node, i);
    if (!h || h->grad.empty() || !grads[i].defined()) continue;
    auto hooks = h->grad;  // a copy: a hook may remove itself
    for (auto& [id, fn] : hooks) {
      Tensor r = fn(grads[i]);
      if (!r.defined()) continue;
      XG_CHECK(r.sizes() == grads[i].sizes(), "hook ", id, " (on a gradient for ", node.name(),
               ") has changed the size of the gradient: it was ", grads[i].sizes(), ", the hook returned ", r.sizes());
      XG_CHECK(r.dtype() == grads[i].dtype(), "hook ", id, " (on a gradient for ", node.name(),
               ") has changed the dtype of the gradient: it was ", dtype_name(grads[i].dtype()), ", the hook returned ",
               dtype_name(r.dtype()));
      grads[i] = std::move(r);
    }
  }
}

struct CompareSeq {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

// One backward pass, in the order its methods are called: seed, capture, discover, count, execute,
// results. outputs/grad_outputs seed the pass. With `inputs` (xg::grad), gradients arriving there
// are returned and only the nodes leading to them run; without (backward), every leaf's
// AccumulateGrad runs.
class GraphTask {
 public:
  GraphTask(const char* api, bool keep_graph, bool create_graph)
      : api_(api), keep_graph_(keep_graph), create_graph_(create_graph) {
    nodes_.reserve(64);
  }

  // The roots: each output's gradient edge and its initial gradient (ones for a scalar).
  void seed(const TensorList& outputs, const TensorList& grad_outputs) {
    XG_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), api_, ": got ", outputs.size(),
             " outputs but ", grad_outputs.size(), " grad_outputs");
    XG_CHECK(!outputs.empty(), api_, ": no outputs to differentiate");
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& out = outputs[i];
      XG_CHECK(out.defined(), api_, ": output ", i, " is undefined");
      XG_CHECK(out.requires_grad(), api_, ": element ", i,
               " of tensors does not require grad and does not have a grad_fn");
      Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
      if (!g.defined()) {
        XG_CHECK(out.numel() == 1, api_, ": grad can be implicitly created only for scalar outputs; output ", i,
                 " has shape ", out.sizes(), ", pass a gradient of that shape");
        g = ones_like(out);
      } else {
        XG_CHECK(g.sizes() == out.sizes(), api_, ": mismatch in shape: grad_output[", i, "] has a shape of ",
                 g.sizes(), " and output[", i, "] has a shape of ", out.sizes());
        if (g.dtype() != out.dtype()) g = g.to(out.dtype());
      }
      roots_.push_back(autograd::gradient_edge(out));
      root_grads_.push_back(g);
    }
  }

  // xg::grad: where each input's gradient arrives (its grad_fn, or its leaf accumulator).
  void capture(const TensorList& inputs) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      XG_CHECK(inputs[i].defined() && inputs[i].requires_grad(), api_, ": input ", i,
               " does not require grad; call requires_grad_() on it first");
      Edge e = autograd::gradient_edge(inputs[i]);
      keep_alive_.push_back(e.fn);
      captures_[e.fn.get()].push_back({e.input_nr, i});
    }
    accumulate_leaves_ = inputs.empty();
    results_.resize(inputs.size());
  }

  // Finds every node reachable from the roots and marks those that must run: for backward() all
  // of them; for grad() those on a path to an input. Iterative post-order DFS: graphs can be far
  // deeper than the C++ stack.
  void discover() {
    std::vector<std::pair<Node*, size_t>> stack;
    for (auto& r : roots_) {
      if (!nodes_.try_emplace(r.fn.get()).second) continue;
      stack.push_back({r.fn.get(), 0});
      while (!stack.empty()) {
        Node* n = stack.back().first;
        size_t i = stack.back().second++;
        if (i < n->next_edges.size()) {
          Node* child = n->next_edges[i].fn.get();
          if (child && nodes_.try_emplace(child).second) stack.push_back({child, 0});
          continue;
        }
        bool need = accumulate_leaves_ || captures_.count(n);
        for (auto& e : n->next_edges)
          if (e.valid() && nodes_[e.fn.get()].needed) need = true;
        nodes_[n].needed = need;
        stack.pop_back();
      }
    }
  }

  // Every ancestor of a needed node is needed, so counting the needed edges out of needed nodes
  // counts exactly the gradients each node will receive.
  void count_dependencies() {
    for (auto& [n, st] : nodes_) {
      if (!st.needed) continue;
      for (auto& e : n->next_edges)
        if (e.valid()) {
          State& child = nodes_[e.fn.get()];
          if (child.needed) ++child.deps;
        }
    }
  }

  // Runs the needed nodes newest-first, each once all its gradients have arrived.
  void execute() {
    AutoGradMode mode(create_graph_);
    for (size_t i = 0; i < roots_.size(); ++i)
      accumulate(buffer_of(roots_[i].fn.get())[roots_[i].input_nr], root_grads_[i]);
    std::priority_queue<Node*, std::vector<Node*>, CompareSeq> ready;
    for (auto& r : roots_) {
      State& st = nodes_[r.fn.get()];
      if (st.needed && st.deps == 0 && !st.queued) st.queued = true, ready.push(r.fn.get());
    }
    while (!ready.empty()) {
      Node* node = ready.top();
      ready.pop();
      for (Node* child : run(*node)) ready.push(child);
    }
  }

  // Runs what autograd::queue_callback queued during the pass, in order (a callback may queue more).
  void run_callbacks() {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      auto cb = std::move(callbacks_[i]);
      cb();
    }
    callbacks_.clear();
  }
  void queue(std::function<void()> cb) { callbacks_.push_back(std::move(cb)); }

  // xg::grad's gradients, one per input (detached unless create_graph).
  TensorList results(bool allow_unused) {
    if (!accumulate_leaves_ && !allow_unused)
      for (size_t i = 0; i < results_.size(); ++i)
        XG_CHECK(results_[i].defined(), api_, ": input ", i,
                 " appears to not have been used in the graph; pass allow_unused=true if this is intended");
    if (!create_graph_)
      for (auto& r : results_)
        if (r.defined() && r.requires_grad()) r = r.detach();
    return std::move(results_);
  }

 private:
  // Everything the pass knows about a node, in one table (one hash entry per node: this
  // bookkeeping is most of the cost of a backward through tiny tensors).
  struct State {
    bool needed = false;
    bool queued = false;
    int deps = 0;       // needed edges pointing here whose gradient has not arrived yet
    TensorList buffer;  // gradients summed so far, one per forward output
  };

  TensorList& buffer_of(Node* n) {
    auto& b = nodes_[n].buffer;
    if (b.empty()) b.resize(std::max<size_t>(n->output_meta.size(), 1));
    return b;
  }

  // Runs one node on its summed gradients and passes what it returns on; returns the children
  // that have now received all their gradients.
  std::vector<Node*> run(Node& node) {
    TensorList grads = std::move(buffer_of(&node));  // leaves the node's buffer empty
    auto* leaf = dynamic_cast<autograd::AccumulateGrad*>(&node);
    run_grad_hooks(node, leaf, grads);
    for (size_t i = 0; i < node.retained.size() && i < grads.size(); ++i) {
      auto impl = node.retained[i].lock();
      if (!impl || !grads[i].defined()) continue;
      Tensor held(impl);
      Tensor g = create_graph_ ? grads[i] : grads[i].detach().clone();
      held.set_grad(held.grad().defined() ? held.grad() + g : g);
    }
    auto cap = captures_.find(&node);
    if (cap != captures_.end())
      for (auto& [input_nr, idx] : cap->second) results_[idx] = grads[input_nr];

    const bool is_leaf_acc = leaf != nullptr;
    if (is_leaf_acc && !accumulate_leaves_) return {};  // xg::grad: captured above, .grad() untouched
    bool any_child = false;
    for (auto& e : node.next_edges) any_child |= e.valid() && nodes_[e.fn.get()].needed;
    if (!is_leaf_acc && !any_child) {
      if (!keep_graph_) node.release_variables();
      return {};
    }

    // Custom nodes may be handed undefined gradients; built-in nodes treat them as zero.
    TensorList out = node.apply(std::move(grads));
    if (!keep_graph_) node.release_variables();
    if (is_leaf_acc) return {};
    validate_outputs(node, out);
    std::vector<Node*> ready;
    for (size_t i = 0; i < node.next_edges.size(); ++i) {
      const Edge& e = node.next_edges[i];
      if (!e.valid()) continue;
      State& child = nodes_[e.fn.get()];
      if (!child.needed) continue;
      accumulate(buffer_of(e.fn.get())[e.input_nr], out[i]);
      if (--child.deps == 0) ready.push_back(e.fn.get());
    }
    return ready;
  }

  const char* api_;
  bool keep_graph_, create_graph_;
  bool accumulate_leaves_ = true;
  std::vector<Edge> roots_;
  TensorList root_grads_;
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures_;
  std::vector<std::shared_ptr<Node>> keep_alive_;  // accumulators made here for leaf inputs
  std::unordered_map<Node*, State> nodes_;
  TensorList results_;
  std::vector<std::function<void()>> callbacks_;
};

// The pass running on this thread (passes nest: a checkpointed block's backward runs its own).
thread_local GraphTask* current_task = nullptr;

TensorList run_backward(const TensorList& outputs, const TensorList& grad_outputs, bool keep_graph,
                        bool create_graph, const TensorList& inputs, bool allow_unused, const char* api) {
  GraphTask task(api, keep_graph, create_graph);
  task.seed(outputs, grad_outputs);
  task.capture(inputs);
  task.discover();
  task.count_dependencies();
  {
    GraphTask* outer = current_task;
    current_task = &task;
    struct Restore {
      GraphTask* outer;
      ~Restore() { current_task = outer; }
    } restore{outer};
    task.execute();
    task.run_callbacks();
  }
  return task.results(allow_unused);
}

}  // namespace

void backward(const TensorList& outputs, const TensorList& grad_outputs, std::optional<bool> retain_graph,
              bool create_graph) {
  run_backward(outputs, grad_outputs, retain_graph.value_or(create_graph), create_graph, {}, false, "backward");
}

namespace autograd {
void queue_callback(std::function<void()> callback) {
  XG_CHECK(callback, "queue_callback: the callback is empty");
  XG_CHECK(current_task, "queue_callback: no backward pass is running on this thread (queue callbacks from a hook "
           "or a custom Function's backward)");
  current_task->queue(std::move(callback));
}
}  // namespace autograd

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  XG_CHECK(!inputs.empty(), "grad: no inputs to differentiate with respect to");
  return run_backward(outputs, grad_outputs, retain_graph.value_or(create_graph), create_graph, inputs,
                      allow_unused, "grad");
}

}  // namespace xgrad
