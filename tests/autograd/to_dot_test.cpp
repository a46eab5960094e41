// to_dot: the recorded graph in Graphviz DOT, parsed back here: one node per op and leaf with the
// right labels, edges in forward direction, saved tensors marked, labels escaped; nothing drawn
// that backward freed. (Where Graphviz is installed, `dot` must accept the text too.)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "helpers.hpp"

namespace {

struct Graph {
  std::map<std::string, std::string> labels;  // id → label (with \n as two characters)
  std::set<std::pair<std::string, std::string>> edges, saved;  // (from, to)
  size_t edge_count = 0;

  // The id of the one node whose label starts with `prefix`.
  std::string id(const std::string& prefix) const {
    std::string found;
    for (auto& [id, label] : labels)
      if (label.rfind(prefix, 0) == 0) {
        INFO("two nodes labelled " << prefix);
        REQUIRE(found.empty());
        found = id;
      }
    INFO("no node labelled " << prefix);
    REQUIRE(!found.empty());
    return found;
  }
  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (auto& [id, label] : labels) n += label.rfind(prefix, 0) == 0;
    return n;
  }
};

Graph parse(const std::string& dot) {
  Graph g;
  const std::regex node(R"re(^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$)re"),
      edge(R"re(^\s+(\w+) -> (\w+)( \[(.*)\])?;$)re");
  std::istringstream in(dot);
  std::string line;
  std::getline(in, line);
  CHECK(line == "digraph xgrad {");
  std::string last;
  for (std::smatch m; std::getline(in, line); last = line) {
    if (std::regex_match(line, m, node)) {
      CHECK(g.labels.emplace(m[1], m[2]).second);
    } else if (std::regex_match(line, m, edge)) {
      INFO(line);
      CHECK(g.labels.count(m[1]));  // a node is declared before edges leave it
      ++g.edge_count;
      (std::string(m[4]).find("saved") != std::string::npos ? g.saved : g.edges).emplace(m[1], m[2]);
    }
  }
  CHECK(last == "}");
  return g;
}

}  // namespace

TEST_CASE("to_dot draws ops, named leaves, outputs and saved tensors", "[autograd][to_dot]") {
  xg::nn::Linear lin(3, 2);
  const xg::Tensor x = xg::randn({4, 3});
  const xg::Tensor h = lin(x);
  const xg::Tensor y = (xg::tanh(h) * h).sum();
  const std::string dot = xg::autograd::to_dot({y}, lin->named_parameters());
  const Graph g = parse(dot);
  const std::string w = g.id("weight\\n(2, 3) Float32"), b = g.id("bias\\n(2,) Float32"),
                    linear = g.id("LinearBackward\\n(4, 2) Float32"), tanh = g.id("TanhBackward"),
                    mul = g.id("MulBackward"), sum = g.id("SumBackward\\n() Float32"), out = g.id("output 0");
  CHECK(g.labels.size() == 8);  // 4 ops, 2 leaves, 1 output and the saved input x
  CHECK(g.edges.count({w, linear}));
  CHECK(g.edges.count({b, linear}));
  CHECK(g.edges.count({linear, tanh}));
  CHECK(g.edges.count({linear, mul}));  // h feeds both tanh and the product: one node, two edges
  CHECK(g.edges.count({tanh, mul}));
  CHECK(g.edges.count({mul, sum}));
  CHECK(g.edges.count({sum, out}));
  // Saved: Linear kept x (a constant: a box of its own) and the weight; the product kept both factors.
  CHECK(g.saved.count({w, linear}));
  CHECK(g.saved.count({linear, mul}));
  CHECK(g.saved.count({tanh, mul}));
  const std::string x_saved = g.id("saved\\n(4, 3) Float32");
  CHECK(g.saved.count({x_saved, linear}));
  CHECK(g.labels.at(tanh).find("saves its output") != std::string::npos);

  // After backward the saved tensors are freed: the same graph without them.
  y.backward();
  const Graph after = parse(xg::autograd::to_dot({y}, lin->named_parameters()));
  CHECK(after.saved.empty());
  CHECK(after.edges == g.edges);
  CHECK(after.count("saved") == 0);
}

TEST_CASE("to_dot: unnamed leaves, several outputs, multi-output ops, custom functions, escaping",
          "[autograd][to_dot]") {
  struct Double : xg::autograd::Function<Double> {
    static xg::Tensor forward(xg::autograd::AutogradContext*, const xg::Tensor& x) { return x * 2.0; }
    static xg::TensorList backward(xg::autograd::AutogradContext*, xg::TensorList g) { return {g[0] * 2.0}; }
  };
  xg::Tensor a = xg::randn({6}).requires_grad_(), c = xg::randn({3}).requires_grad_();
  const xg::TensorList parts = xg::split(Double::apply(a), 3);
  const xg::Tensor u = parts[0] + c, v = parts[1].sum();
  const Graph g = parse(xg::autograd::to_dot({u, v, xg::randn({2})}, {{"odd \"name\"", c}}));
  const std::string split = g.id("SplitBackward"), leaf = g.id("leaf\\n(6,) Float32");
  CHECK(g.labels.at(split).find("(3,) Float32\\n(3,) Float32") != std::string::npos);  // both outputs
  std::string twice;  // a custom Function's node is named after its type (demangled)
  for (auto& [id, label] : g.labels)
    if (label.find("Double") != std::string::npos) twice = id;
  REQUIRE(!twice.empty());
  CHECK(g.edges.count({twice, split}));
  CHECK(g.edges.count({leaf, twice}));
  CHECK(g.id("odd \\\"name\\\"\\n(3,)") != "");  // quotes escaped
  CHECK(g.count("output ") == 3);                // the constant output is drawn, with nothing behind it
  CHECK(g.edges.count({g.id("AddBackward"), g.id("output 0")}));
  CHECK(g.edges.count({g.id("SumBackward"), g.id("output 1")}));

  // Graphviz, where installed, reads it (it is needed only to render, never to build or test).
  if (std::system("command -v dot > /dev/null 2>&1") == 0) {
    const std::string path = (std::filesystem::temp_directory_path() / "xgrad_to_dot_test.dot").string();
    std::ofstream(path) << xg::autograd::to_dot({u, v});
    CHECK(std::system(("dot -Tsvg " + path + " -o /dev/null").c_str()) == 0);
  } else {
    WARN("graphviz's dot is not installed: the rendering check is skipped");
  }
}
