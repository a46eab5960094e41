#include "xgrad/to_dot.hpp"

#include <map>
#include <sstream>

#include "xgrad/graph.hpp"

namespace xgrad::autograd {

namespace {

std::string shape_text(const TensorMeta& m) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < m.sizes.size(); ++i) s << (i ? ", " : "") << m.sizes[i];
  s << (m.sizes.size() == 1 ? ",)" : ")") << " " << dtype_name(m.dtype);
  return s.str();
}
std::string shape_text(const Tensor& t) { return shape_text(TensorMeta(t.sizes(), t.dtype())); }

// prefix followed by n, built by appending (GCC 12 warns falsely on "literal" + std::string).
std::string numbered(const char* prefix, size_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// A DOT string literal's contents: quotes and backslashes escaped, lines split with \n.
std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const NamedTensors& params) {
    for (auto& [name, p] : params)
      if (p.defined()) names_.emplace(p.impl_ptr().get(), name);
  }

  std::string run(const TensorList& outputs) {
    out_ << "digraph xgrad {\n  graph [rankdir=TB];\n  node [shape=box, style=filled, fillcolor=white, "
            "fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& t = outputs[i];
      if (!t.defined()) continue;
      const std::string id = numbered("out", i);
      out_ << "  " << id << " [label=\"output " << i << "\\n" << esc(shape_text(t))
           << "\", fillcolor=darkolivegreen1];\n";
      Edge e = t.requires_grad() ? gradient_edge(t) : Edge{};
      if (e.valid()) edge(visit(e.fn), id, "");
    }
    out_ << "}\n";
    return out_.str();
  }

 private:
  // The node's id, drawing it (and everything it reads) the first time.
  std::string visit(const std::shared_ptr<Node>& n) {
    auto it = ids_.find(n.get());
    if (it != ids_.end()) return it->second;
    const std::string id = numbered("n", ids_.size());
    ids_.emplace(n.get(), id);
    if (auto* acc = dynamic_cast<const AccumulateGrad*>(n.get())) {
      auto name = names_.find(acc->variable.get());
      const std::string label = name != names_.end() ? name->second : "leaf";
      out_ << "  " << id << " [label=\"" << esc(label) << "\\n"
           << esc(shape_text(TensorMeta(acc->variable->sizes, acc->variable->dtype)))
           << "\", fillcolor=lightblue];\n";
      leaves_.emplace(acc->variable.get(), id);
      return id;
    }
    std::string label = esc(n->name());
    for (auto& m : n->output_meta) label += "\\n" + esc(shape_text(m));
    std::vector<std::string> saved_outputs;
    for (const SavedVariable* s : n->saved_variables())
      if (s->is_output()) saved_outputs.push_back(std::to_string(s->output_nr()));
    if (!saved_outputs.empty()) label += n->output_meta.size() > 1 ? "\\nsaves outputs" : "\\nsaves its output";
    out_ << "  " << id << " [label=\"" << label << "\"];\n";
    for (size_t i = 0; i < n->next_edges.size(); ++i)
      if (n->next_edges[i].valid()) edge(visit(n->next_edges[i].fn), id, "");
    for (const SavedVariable* s : n->saved_variables()) {
      if (s->is_output()) continue;
      const Tensor& t = s->data();
      // Where the kept tensor came from: a leaf, another op's output, or nothing (a constant).
      std::string from;
      if (auto leaf = leaves_.find(t.impl_ptr().get()); leaf != leaves_.end()) from = leaf->second;
      else if (t.impl().grad_fn) from = visit(t.impl().grad_fn);
      else if (t.requires_grad()) from = visit(gradient_edge(t).fn);
      if (from.empty()) {  // one box per saved constant, however many ops keep it
        auto [c, fresh] = constants_.emplace(t.impl_ptr().get(), "");
        if (fresh) {
          c->second = numbered("c", constants_.size() - 1);
          out_ << "  " << c->second << " [label=\"saved\\n" << esc(shape_text(t)) << "\", fillcolor=orange];\n";
        }
        from = c->second;
      }
      out_ << "  " << from << " -> " << id << " [style=dashed, color=darkorange, label=\"saved\"];\n";
    }
    return id;
  }

  void edge(const std::string& from, const std::string& to, const std::string& label) {
    out_ << "  " << from << " -> " << to;
    if (!label.empty()) out_ << " [label=\"" << esc(label) << "\"]";
    out_ << ";\n";
  }

  std::ostringstream out_;
  std::map<const Node*, std::string> ids_;
  std::map<const TensorImpl*, std::string> names_, leaves_, constants_;
};

}  // namespace

std::string to_dot(const TensorList& outputs, const NamedTensors& params) { return Writer(params).run(outputs); }

}  // namespace xgrad::autograd
