// einsum: parsed into labelled operands, then built from differentiable ops — diagonals
// (index_select), sums over private labels, and one batched matmul per pair of operands (BLAS).
#include <algorithm>
#include <map>

#include "xgrad/ops.hpp"

namespace xgrad {

namespace {

using Labels = std::vector<int>;  // letters are 0..51, the dims of "..." are 52, 53, ...
constexpr int kEllipsisBase = 52;

int letter_id(char c, const std::string& eq) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  throw Error(str("einsum: invalid character '", c, "' in equation \"", eq, "\" (labels are letters a-z, A-Z)"));
}

// One side of the equation term ("ij", "b...k"): its labels, the "..." expanded to `ell` labels
// right-aligned among max_ell broadcast dims.
struct Term {
  Labels before, after;  // labels on either side of "..."
  bool has_ellipsis = false;
};

Term parse_term(const std::string& s, const std::string& eq) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      XG_CHECK(!t.has_ellipsis && s.compare(i, 3, "...") == 0, "einsum: malformed ellipsis in \"", eq, "\"");
      t.has_ellipsis = true;
      i += 2;
      continue;
    }
    (t.has_ellipsis ? t.after : t.before).push_back(letter_id(s[i], eq));
  }
  return t;
}

Labels expand_term(const Term& t, int64_t ell, int64_t max_ell) {
  Labels out = t.before;
  for (int64_t k = 0; k < ell; ++k) out.push_back(kEllipsisBase + static_cast<int>(max_ell - ell + k));
  out.insert(out.end(), t.after.begin(), t.after.end());
  return out;
}

// Moves dim `from` of x to position `to`.
Tensor move_dim(const Tensor& x, int64_t from, int64_t to) {
  if (from == to) return x;
  Shape p;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != from) p.push_back(d);
  p.insert(p.begin() + to, from);
  return permute(x, p);
}

// The diagonal of dims d1 < d2 (same size n), kept at d1; d2 removed.
Tensor diagonal_of(const Tensor& x, int64_t d1, int64_t d2, const std::string& eq) {
  const int64_t n = x.sizes()[d1];
  XG_CHECK(x.sizes()[d2] == n, "einsum: a label repeated in one operand of \"", eq, "\" spans dims of sizes ", n,
           " and ", x.sizes()[d2], " (shape ", x.sizes(), ")");
  Tensor t = move_dim(move_dim(x, d2, x.dim() - 1), d1, x.dim() - 2);  // (..., n, n)
  Shape flat(t.sizes().begin(), t.sizes().end() - 2);
  flat.push_back(n * n);
  Tensor diag = index_select(reshape(t, flat), -1, arange(0.0, static_cast<double>(n * n), static_cast<double>(n + 1), kInt64));
  return move_dim(diag, diag.dim() - 1, d1);
}

// Sums over the dims whose label is not in `keep`.
Tensor sum_unkept(const Tensor& x, Labels& labels, const std::vector<bool>& keep) {
  Shape dims;
  Labels rest;
  for (size_t d = 0; d < labels.size(); ++d) {
    if (keep[labels[d]]) rest.push_back(labels[d]);
    else dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return x;
  labels = rest;
  return sum(x, dims);
}

int64_t size_of(const Tensor& x, const Labels& labels, int l) {
  auto it = std::find(labels.begin(), labels.end(), l);
  return it == labels.end() ? 1 : x.sizes()[it - labels.begin()];
}

// a·b summing the labels both share and `keep` lacks: one batched matmul,
// (batch, a-only, contracted) × (batch, contracted, b-only).
Tensor contract(const Tensor& a0, Labels& la, const Tensor& b0, const Labels& lb, const std::vector<bool>& keep,
                const std::string& eq) {
  auto in = [](const Labels& l, int x) { return std::find(l.begin(), l.end(), x) != l.end(); };
  Labels batch, con, aonly, bonly;
  for (int l : la) (in(lb, l) ? (keep[l] ? batch : con) : aonly).push_back(l);
  for (int l : lb)
    if (!in(la, l)) bonly.push_back(l);
  // Shared labels broadcast (size 1 against n), as PyTorch's einsum.
  Shape bsizes, csizes;
  for (int l : batch) bsizes.push_back(std::max(size_of(a0, la, l), size_of(b0, lb, l)));
  for (int l : con) csizes.push_back(std::max(size_of(a0, la, l), size_of(b0, lb, l)));
  auto arrange = [&](const Tensor& t, const Labels& lt, const Labels& order, const Shape& want) {
    Shape p, sizes;
    for (size_t k = 0; k < order.size(); ++k) {
      int64_t d = std::find(lt.begin(), lt.end(), order[k]) - lt.begin();
      p.push_back(d);
      int64_t have = t.sizes()[d];
      XG_CHECK(have == want[k] || have == 1, "einsum: label sizes ", have, " and ", want[k],
               " don't match (or broadcast) in \"", eq, "\"");
      sizes.push_back(want[k]);
    }
    Tensor out = permute(t, p);
    return out.sizes() == sizes ? out : expand(out, sizes);
  };
  Shape asz, bsz;
  for (int l : aonly) asz.push_back(size_of(a0, la, l));
  for (int l : bonly) bsz.push_back(size_of(b0, lb, l));
  Labels aorder = batch, border = batch;
  aorder.insert(aorder.end(), aonly.begin(), aonly.end());
  aorder.insert(aorder.end(), con.begin(), con.end());
  border.insert(border.end(), con.begin(), con.end());
  border.insert(border.end(), bonly.begin(), bonly.end());
  Shape awant = bsizes, bwant = bsizes;
  awant.insert(awant.end(), asz.begin(), asz.end());
  awant.insert(awant.end(), csizes.begin(), csizes.end());
  bwant.insert(bwant.end(), csizes.begin(), csizes.end());
  bwant.insert(bwant.end(), bsz.begin(), bsz.end());
  auto prod = [](const Shape& s) { int64_t n = 1; for (int64_t v : s) n *= v; return n; };
  Tensor a = reshape(arrange(a0, la, aorder, awant), {prod(bsizes), prod(asz), prod(csizes)});
  Tensor b = reshape(arrange(b0, lb, border, bwant), {prod(bsizes), prod(csizes), prod(bsz)});
  Shape out_shape = bsizes;
  out_shape.insert(out_shape.end(), asz.begin(), asz.end());
  out_shape.insert(out_shape.end(), bsz.begin(), bsz.end());
  la = batch;
  la.insert(la.end(), aonly.begin(), aonly.end());
  la.insert(la.end(), bonly.begin(), bonly.end());
  return reshape(matmul(a, b), out_shape);
}

}  // namespace

Tensor einsum(const std::string& equation, const TensorList& tensors) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), eq));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  XG_CHECK(terms.size() == tensors.size(), "einsum: \"", equation, "\" names ", terms.size(), " operands but ",
           tensors.size(), " tensors were given");
  XG_CHECK(!tensors.empty(), "einsum: needs at least one operand");
  // Labels of every operand, "..." expanded.
  int64_t max_ell = 0;
  std::vector<int64_t> ell(terms.size(), 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    XG_CHECK(tensors[i].defined(), "einsum: operand ", i, " is undefined");
    int64_t named = static_cast<int64_t>(terms[i].before.size() + terms[i].after.size());
    if (terms[i].has_ellipsis) {
      XG_CHECK(tensors[i].dim() >= named, "einsum: operand ", i, " has ", tensors[i].dim(), " dims (shape ",
               tensors[i].sizes(), ") but its subscripts name ", named, " plus \"...\" in \"", equation, "\"");
      ell[i] = tensors[i].dim() - named;
    } else {
      XG_CHECK(tensors[i].dim() == named, "einsum: operand ", i, " has ", tensors[i].dim(), " dims (shape ",
               tensors[i].sizes(), ") but its subscripts \"", lhs, "\" name ", named, " in \"", equation, "\"");
    }
    max_ell = std::max(max_ell, ell[i]);
  }
  std::vector<Labels> labels;
  std::map<int, int> count;
  for (size_t i = 0; i < terms.size(); ++i) {
    labels.push_back(expand_term(terms[i], ell[i], max_ell));
    for (int l : labels.back()) count[l]++;
  }
  Labels out;
  if (arrow != std::string::npos) {
    Term t = parse_term(eq.substr(arrow + 2), eq);
    XG_CHECK(!t.has_ellipsis || std::any_of(terms.begin(), terms.end(), [](const Term& x) { return x.has_ellipsis; }) ||
                 max_ell == 0,
             "einsum: the output of \"", equation, "\" has \"...\" but no input does");
    out = expand_term(t, t.has_ellipsis ? max_ell : 0, max_ell);
    for (size_t k = 0; k < out.size(); ++k) {
      XG_CHECK(std::count(out.begin(), out.end(), out[k]) == 1, "einsum: output label repeats in \"", equation, "\"");
      XG_CHECK(count.count(out[k]), "einsum: output label not among the inputs' in \"", equation, "\"");
    }
  } else {  // implicit: the "..." dims, then the labels seen once, alphabetically
    for (int k = 0; k < max_ell; ++k) out.push_back(kEllipsisBase + k);
    for (auto& [l, n] : count)
      if (l < kEllipsisBase && n == 1) out.push_back(l);
  }
  const int nl = kEllipsisBase + static_cast<int>(max_ell);
  // Each operand: diagonals of repeated labels, then sums over labels no one else needs.
  std::vector<Tensor> ops(tensors.begin(), tensors.end());
  for (size_t i = 0; i < ops.size(); ++i) {
    Labels& l = labels[i];
    for (size_t d1 = 0; d1 < l.size(); ++d1)
      for (size_t d2 = l.size() - 1; d2 > d1; --d2)
        if (l[d2] == l[d1]) {
          ops[i] = diagonal_of(ops[i], static_cast<int64_t>(d1), static_cast<int64_t>(d2), equation);
          l.erase(l.begin() + static_cast<int64_t>(d2));
        }
  }
  auto needed_after = [&](size_t i) {  // labels wanted by the output or operands after i
    std::vector<bool> keep(nl, false);
    for (int l : out) keep[l] = true;
    for (size_t j = i + 1; j < ops.size(); ++j)
      for (int l : labels[j]) keep[l] = true;
    return keep;
  };
  Tensor acc = ops[0];
  Labels lacc = labels[0];
  {
    std::vector<bool> keep = needed_after(0);
    acc = sum_unkept(acc, lacc, keep);
  }
  for (size_t i = 1; i < ops.size(); ++i) {
    std::vector<bool> keep = needed_after(i);
    std::vector<bool> keep_b = keep;  // b's private labels not kept are summed before the product
    for (int l : lacc) keep_b[l] = true;
    Tensor b = sum_unkept(ops[i], labels[i], keep_b);
    std::vector<bool> keep_a = keep;
    for (int l : labels[i]) keep_a[l] = true;
    acc = sum_unkept(acc, lacc, keep_a);
    acc = contract(acc, lacc, b, labels[i], keep, equation);
  }
  // Final order; a label of the output may still be missing from acc only if it had size 1 somewhere: not possible.
  Shape p;
  for (int l : out) p.push_back(std::find(lacc.begin(), lacc.end(), l) - lacc.begin());
  return p.empty() ? acc : permute(acc, p);
}

}  // namespace xgrad
