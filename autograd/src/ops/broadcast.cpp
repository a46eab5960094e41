// Broadcasting rules, and sum_to: the one place a broadcast gradient is reduced back.
#include "xgrad/ops.hpp"

namespace xgrad {

int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t s : shape) XG_CHECK(s >= 0, op, ": negative dimension ", s, " in shape ", shape);
  for (int64_t s : shape)
    XG_CHECK(!__builtin_mul_overflow(n, s, &n) && n <= (int64_t{1} << 62), op, ": shape ", shape,
             " has too many elements");
  return n;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    XG_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
             " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.sizes() == shape) return t;
  const Shape& s = t.sizes();
  XG_CHECK(s.size() >= shape.size(), "sum_to: can't reduce shape ", s, " to ", shape);
  size_t lead = s.size() - shape.size();
  Shape dims;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i < lead) { dims.push_back(static_cast<int64_t>(i)); continue; }
    int64_t want = shape[i - lead];
    XG_CHECK(want == s[i] || want == 1, "sum_to: can't reduce shape ", s, " to ", shape);
    if (want == 1 && s[i] != 1) dims.push_back(static_cast<int64_t>(i));
  }
  if (dims.empty()) return reshape(t, shape);
  return reshape(sum(t, dims, /*keepdim=*/true), shape);
}

}  // namespace xgrad
