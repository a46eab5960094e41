// A wall of bad inputs across the public API: each is an xgrad::Error whose message names the op
// (or the option, or the argument) and the problem, never a crash or a silent wrong answer; where an
// object was involved, it is unchanged afterwards. The example CLIs' bad options are ctest cases in
// examples/CMakeLists.txt.
#include <functional>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace nn = xg::nn;
namespace optim = xg::optim;

namespace {

struct Case {
  std::string name;
  std::function<void()> run;
  std::vector<std::string> message;  // each must appear in the error
};

xg::Tensor f(const xg::Shape& s) { return xg::randn(s); }
xg::Tensor leaf(const xg::Shape& s) { return xg::randn(s).requires_grad_(); }

std::vector<Case> tensor_cases() {
  const int64_t big = int64_t{1} << 32;
  return {
      {"negative dim", [] { xg::zeros({2, -1}); }, {"negative dimension", "-1"}},
      {"wrapping numel", [=] { xg::ones({big, big}); }, {"too many elements"}},
      {"arange zero step", [] { xg::arange(0, 10, 0); }, {"arange", "step"}},
      {"arange wrong direction", [] { xg::arange(0, 10, -1); }, {"arange"}},
      {"arange NaN", [] { xg::arange(0, NAN, 1); }, {"arange"}},
      {"randint empty range", [] { xg::randint(5, 5, {2}); }, {"randint", "low"}},
      {"rand of Int64", [] { xg::rand({2}, xg::kInt64); }, {"rand", "Int64"}},
      {"randn of Bool", [] { xg::randn({2}, xg::kBool); }, {"randn", "Bool"}},
      {"add shapes", [] { f({2, 3}) + f({4, 3}); }, {"add", "[2, 3]", "[4, 3]"}},
      {"mul shapes", [] { f({2, 3}) * f({2, 4}); }, {"mul", "[2, 3]"}},
      {"sub Bool Bool", [] { (f({2}) > 0.0) - (f({2}) > 0.0); }, {"sub", "Bool"}},
      {"div shapes", [] { f({3}) / f({4}); }, {"div"}},
      {"maximum shapes", [] { xg::maximum(f({3}), f({2})); }, {"maximum"}},
      {"where non-bool condition", [] { xg::where(f({2}), f({2}), f({2})); }, {"where", "Bool"}},
      {"where shapes", [] { xg::where(f({2}) > 0.0, f({3}), f({2})); }, {"where"}},
      {"matmul inner dims", [] { xg::matmul(f({2, 3}), f({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]"}},
      {"matmul 0-d", [] { xg::matmul(xg::scalar_tensor(1.0), f({2})); }, {"matmul"}},
      {"matmul batch dims", [] { xg::matmul(f({2, 2, 3}), f({3, 3, 4})); }, {"matmul"}},
      {"linear weight", [] { xg::linear(f({2, 3}), f({4, 5})); }, {"linear"}},
      {"linear bias", [] { xg::linear(f({2, 3}), f({4, 3}), f({5})); }, {"linear", "bias"}},
      {"reshape size", [] { f({2, 3}).reshape({4, 2}); }, {"reshape", "[4, 2]", "6"}},
      {"reshape two -1", [] { f({2, 3}).reshape({-1, -1}); }, {"reshape", "-1"}},
      {"view size", [] { f({2, 3}).view({5}); }, {"view"}},
      {"permute dims", [] { f({2, 3}).permute({0, 0}); }, {"permute"}},
      {"permute count", [] { f({2, 3}).permute({0}); }, {"permute"}},
      {"transpose dim", [] { f({2, 3}).transpose(0, 2); }, {"transpose", "dim 2"}},
      {"squeeze dim", [] { f({2, 3}).squeeze(3); }, {"squeeze", "dim 3"}},
      {"unsqueeze dim", [] { f({2, 3}).unsqueeze(4); }, {"unsqueeze"}},
      {"expand", [] { f({2, 3}).expand({4, 3}); }, {"expand"}},
      {"narrow past end", [] { f({4, 3}).narrow(0, 2, 3); }, {"narrow", "exceeds"}},
      {"narrow 0-d", [] { xg::narrow(xg::scalar_tensor(1.0), 0, 0, 1); }, {"narrow"}},
      {"cat empty", [] { xg::cat({}); }, {"cat", "empty"}},
      {"cat shapes", [] { xg::cat({f({2, 3}), f({2, 4})}, 0); }, {"cat"}},
      {"stack shapes", [] { xg::stack({f({2}), f({3})}); }, {"stack"}},
      {"split sizes sum", [] { f({5}).split(xg::Shape{2, 2}); }, {"split", "don't sum"}},
      {"split size zero", [] { f({5}).split(0); }, {"split", "positive"}},
      {"split negative size", [] { f({5}).split(xg::Shape{6, -1}); }, {"split"}},
      {"chunk zero", [] { f({5}).chunk(0); }, {"chunk", "positive"}},
      {"unbind 0-d", [] { xg::unbind(xg::scalar_tensor(1.0)); }, {"unbind"}},
      {"tril 1-d", [] { xg::tril(f({3})); }, {"tril"}},
      {"index_select out of range", [] { xg::index_select(f({3, 2}), 0, xg::tensor({0, 3})); }, {"index_select", "3"}},
      {"index_select float index", [] { xg::index_select(f({3, 2}), 0, xg::tensor({0.0, 1.0})); }, {"index_select"}},
      {"gather out of range", [] { xg::gather(f({2, 2}), 1, xg::tensor({0, 2, 1, 0}).reshape({2, 2})); }, {"gather"}},
      {"scatter_add shapes", [] { xg::scatter_add(f({2, 2}), 1, xg::tensor({0, 1, 1}).reshape({1, 3}), f({2, 2})); }, {"scatter_add"}},
      {"index_add source shape", [] { xg::index_add(f({3, 2}), 0, xg::tensor({0}), f({1, 3})); }, {"index_add"}},
      {"embedding index", [] { xg::embedding(xg::tensor({0, 5}), f({5, 2})); }, {"embedding", "5"}},
      {"embedding negative index", [] { xg::embedding(xg::tensor({-1}), f({5, 2})); }, {"embedding"}},
      {"embedding float indices", [] { xg::embedding(xg::tensor({0.0}), f({5, 2})); }, {"embedding"}},
      {"masked_fill Int64 mask", [] { xg::masked_fill(f({2}), xg::tensor({0, 1}), 0.0); }, {"masked_fill", "Bool"}},
      {"masked_fill mask shape", [] { xg::masked_fill(f({2}), xg::zeros({3}, xg::kBool), 0.0); }, {"masked_fill"}},
      {"softmax dim", [] { xg::softmax(f({2, 3}), 2); }, {"softmax", "dim 2"}},
      {"log_softmax dim", [] { xg::log_softmax(f({2, 3}), -3); }, {"log_softmax"}},
      {"sum dim", [] { f({2, 3}).sum({5}); }, {"sum", "dim 5"}},
      {"sum repeated dim", [] { f({2, 3}).sum({1, -1}); }, {"sum", "more than once"}},
      {"mean dim", [] { f({2}).mean({1}); }, {"mean"}},
      {"amax dim", [] { f({2}).amax({3}); }, {"amax"}},
      {"argmax dim", [] { xg::argmax(f({2, 3}), 2); }, {"argmax"}},
      {"logsumexp dim", [] { f({2}).logsumexp({2}); }, {"logsumexp"}},
      {"var dim", [] { f({2}).var({4}); }, {"var"}},
      {"layer_norm shape", [] { xg::layer_norm(f({2, 3}), {4}); }, {"layer_norm", "[4]"}},
      {"layer_norm weight", [] { xg::layer_norm(f({2, 3}), {3}, f({4})); }, {"layer_norm", "weight"}},
      {"layer_norm bias", [] { xg::layer_norm(f({2, 3}), {3}, f({3}), f({2})); }, {"layer_norm", "bias"}},
      {"layer_norm eps", [] { xg::layer_norm(f({2, 3}), {3}, {}, {}, -1.0); }, {"layer_norm", "eps"}},
      {"layer_norm Int64", [] { xg::layer_norm(xg::ones({2, 3}, xg::kInt64), {3}); }, {"layer_norm", "Int64"}},
      {"cross_entropy target range", [] { xg::cross_entropy(f({2, 3}), xg::tensor({0, 3})); }, {"cross_entropy", "out of bounds"}},
      {"cross_entropy negative target", [] { xg::cross_entropy(f({2, 3}), xg::tensor({-2, 0})); }, {"cross_entropy"}},
      {"cross_entropy float target", [] { xg::cross_entropy(f({2, 3}), xg::tensor({0.0, 1.0})); }, {"cross_entropy", "Int64"}},
      {"cross_entropy target shape", [] { xg::cross_entropy(f({2, 3}), xg::tensor({0, 1, 2})); }, {"cross_entropy", "target"}},
      {"cross_entropy smoothing", [] {
         xg::cross_entropy(f({2, 3}), xg::tensor({0, 1}), xg::CrossEntropyLossOptions().label_smoothing(1.5));
       }, {"cross_entropy", "label_smoothing"}},
      {"cross_entropy weight size", [] {
         xg::cross_entropy(f({2, 3}), xg::tensor({0, 1}), xg::CrossEntropyLossOptions().weight(xg::ones({4})));
       }, {"cross_entropy", "weight"}},
      {"cross_entropy Int64 logits", [] { xg::cross_entropy(xg::ones({2, 3}, xg::kInt64), xg::tensor({0, 1})); }, {"cross_entropy"}},
      {"nll_loss target range", [] { xg::nll_loss(f({2, 3}), xg::tensor({0, 7})); }, {"nll_loss", "7"}},
      {"mse_loss shapes", [] { xg::mse_loss(f({2, 3}), f({3, 2})); }, {"mse_loss"}},
      {"dropout p > 1", [] { xg::dropout(f({3}), 1.5); }, {"dropout", "1.5"}},
      {"dropout p < 0", [] { xg::dropout(f({3}), -0.5); }, {"dropout"}},
      {"dropout NaN p", [] { xg::dropout(f({3}), NAN); }, {"dropout"}},
      {"dropout Int64", [] { xg::dropout(xg::ones({3}, xg::kInt64), 0.5); }, {"dropout", "Int64"}},
      {"item of many", [] { f({3}).item<double>(); }, {"item", "3 elements"}},
      {"data_ptr type", [] { f({3}).data_ptr<double>(); }, {"data_ptr", "Float32"}},
      {"undefined tensor", [] { xg::Tensor().sizes(); }, {"undefined"}},
      {"requires_grad_ Int64", [] { xg::ones({2}, xg::kInt64).requires_grad_(); }, {"requires_grad_", "Int64"}},
      {"requires_grad_(false) non-leaf", [] { (leaf({2}) * 2.0).requires_grad_(false); }, {"requires_grad_", "leaf"}},
      {"backward non-scalar", [] { (leaf({2}) * 2.0).backward(); }, {"backward", "scalar"}},
      {"backward without grad", [] { f({1}).sum().backward(); }, {"backward", "does not require grad"}},
      {"backward twice", [] {
         xg::Tensor y = (leaf({2}).exp()).sum();
         y.backward();
         y.backward();
       }, {"second time"}},
      {"backward gradient shape", [] { (leaf({2}) * 2.0).backward(f({3})); }, {"backward", "shape"}},
      {"grad unused input", [] {
         xg::Tensor a = leaf({2}), b = leaf({2});
         xg::grad({(a * 2.0).sum()}, {a, b});
       }, {"grad", "allow_unused"}},
      {"grad input without grad", [] { xg::grad({(leaf({2}) * 2.0).sum()}, {f({2})}); }, {"grad", "requires_grad_"}},
      {"grad no inputs", [] { xg::grad({(leaf({2}) * 2.0).sum()}, {}); }, {"grad"}},
      {"in-place on a leaf", [] { leaf({2}).add_(1.0); }, {"add_", "leaf"}},
      {"in-place on a view under autograd", [] {
         xg::Tensor x = leaf({4}) * 1.0;
         xg::Tensor v = x.reshape({2, 2});
         v.mul_(leaf({2, 2}));
       }, {"mul_", "view"}},
      {"saved tensor modified", [] {
         xg::Tensor x = leaf({3});
         xg::Tensor y = x.exp();
         xg::Tensor z = y.sum() * 1.0;
         (void)z;
         xg::Tensor w = y * y;
         y.add_(1.0);
         w.sum().backward();
       }, {"modified by an inplace operation"}},
      {"set_grad shape", [] { leaf({2}).set_grad(f({3})); }, {"set_grad", "[3]"}},
      {"set_grad dtype", [] { leaf({2}).set_grad(xg::ones({2}, xg::kFloat64)); }, {"set_grad", "Float64"}},
      {"copy_ shape", [] { f({2}).copy_(f({3})); }, {"copy_"}},
      {"add_ broadcast out", [] { f({2}).add_(f({3, 2})); }, {"add_", "shape"}},
      {"div_ Int64", [] { xg::ones({2}, xg::kInt64).div_(2.0); }, {"div_"}},
      {"clip_grad_norm_ norm type", [] { nn::utils::clip_grad_norm_({leaf({2})}, 1.0, 0.0); }, {"clip_grad_norm_", "norm_type"}},
      {"clip_grad_norm_ max_norm", [] { nn::utils::clip_grad_norm_({leaf({2})}, -1.0); }, {"clip_grad_norm_", "max_norm"}},
      {"clip_grad_norm_ non-finite", [] {
         xg::Tensor p = leaf({2});
         p.set_grad(xg::full({2}, NAN));
         nn::utils::clip_grad_norm_({p}, 1.0, 2.0, /*error_if_nonfinite=*/true);
       }, {"clip_grad_norm_"}},
      {"gradcheck Float32", [] { xg::gradcheck([](const xg::TensorList& i) { return i[0] * 2.0; }, {leaf({2})}); }, {"gradcheck", "Float64"}},
      {"gradcheck nothing to check", [] {
         xg::gradcheck([](const xg::TensorList& i) { return i[0] * 2.0; }, {xg::randn({2}, xg::kFloat64)});
       }, {"gradcheck", "no input"}},
  };
}

std::vector<Case> file_cases() {
  return {
      {"npy bad magic", [] { xg::from_npy_bytes("not a numpy file at all"); }, {"bad magic"}},
      {"npy truncated header", [] { xg::from_npy_bytes(std::string("\x93NUMPY\x01\x00\xff\x00", 10)); }, {"truncated"}},
      {"npy version 9", [] { xg::from_npy_bytes(std::string("\x93NUMPY\x09\x00\x00\x00", 10)); }, {"version"}},
      {"load_npy missing", [] { xg::load_npy("/nonexistent/x.npy"); }, {"load_npy", "/nonexistent/x.npy"}},
      {"load_npz missing", [] { xg::load_npz("/nonexistent/x.npz"); }, {"load_npz", "/nonexistent/x.npz"}},
      {"load_npz not a zip", [] {
         const std::string p = "/tmp/xgrad_misuse_not_zip.npz";
         xg::write_file_atomic(p, "plain text, not an archive");
         xg::load_npz(p);
       }, {"load_npz"}},
      {"save_npz undefined", [] { xg::save_npz("/tmp/xgrad_misuse_u.npz", {{"x", xg::Tensor()}}); }, {"save_npz", "undefined"}},
      {"save_npz duplicate", [] { xg::save_npz("/tmp/xgrad_misuse_d.npz", {{"x", f({1})}, {"x", f({1})}}); }, {"save_npz", "'x'"}},
      {"save into missing folder", [] { xg::save_npy("/nonexistent/dir/x.npy", f({1})); }, {"save", "/nonexistent/dir/x.npy"}},
  };
}

std::vector<Case> module_cases() {
  return {
      {"Linear input width", [] { nn::Linear(3, 2)(f({2, 4})); }, {"linear", "[2, 4]"}},
      {"Linear negative features", [] { nn::Linear(-1, 2); }, {"Linear", "-1"}},
      {"Embedding out of range", [] { nn::Embedding(5, 2)(xg::tensor({1, 5})); }, {"out of range", "5"}},
      {"Embedding padding_idx", [] { nn::Embedding(nn::EmbeddingOptions(5, 2).padding_idx(9)); }, {"padding_idx"}},
      {"LayerNorm width", [] { nn::LayerNorm(nn::LayerNormOptions({4}))(f({2, 3})); }, {"layer_norm"}},
      {"Dropout p", [] { nn::Dropout(1.5); }, {"Dropout", "1.5"}},
      {"MultiheadAttention heads", [] { nn::MultiheadAttention(10, 3); }, {"MultiheadAttention", "divisible"}},
      {"MultiheadAttention dropout", [] { nn::MultiheadAttention(nn::MultiheadAttentionOptions(4, 2).dropout(2.0)); }, {"dropout"}},
      {"MultiheadAttention query", [] { nn::MultiheadAttention(4, 2)(f({2, 3, 5}), f({2, 3, 4}), f({2, 3, 4})); }, {"query"}},
      {"MultiheadAttention key batch", [] { nn::MultiheadAttention(4, 2)(f({2, 3, 4}), f({3, 3, 4}), f({3, 3, 4})); }, {"key"}},
      {"MultiheadAttention value length", [] { nn::MultiheadAttention(4, 2)(f({2, 3, 4}), f({2, 3, 4}), f({2, 5, 4})); }, {"value"}},
      {"MultiheadAttention attn_mask shape", [] {
         xg::Tensor x = f({2, 3, 4});
         nn::MultiheadAttention(4, 2)(x, x, x, xg::Tensor(), true, xg::zeros({3, 2}));
       }, {"attn_mask", "[3, 2]"}},
      {"MultiheadAttention key_padding_mask shape", [] {
         xg::Tensor x = f({2, 3, 4});
         nn::MultiheadAttention(4, 2)(x, x, x, xg::zeros({2, 4}, xg::kBool));
       }, {"key_padding_mask"}},
      {"MultiheadAttention Int64 key_padding_mask", [] {
         xg::Tensor x = f({2, 3, 4});
         nn::MultiheadAttention(4, 2)(x, x, x, xg::zeros({2, 3}, xg::kInt64));
       }, {"key_padding_mask", "Int64"}},
      {"SDPA Int64 attn_mask", [] { nn::scaled_dot_product_attention(f({1, 2, 4}), f({1, 2, 4}), f({1, 2, 4}), xg::ones({2, 2}, xg::kInt64)); },
       {"scaled_dot_product_attention", "Int64"}},
      {"encoder layer Int64 src_mask", [] {
         nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(4, 2))(f({2, 3, 4}), xg::zeros({3, 3}, xg::kInt64));
       }, {"src_mask", "Int64"}},
      {"encoder layer ffn", [] { nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(0)); }, {"dim_feedforward"}},
      {"encoder layer empty activation", [] {
         nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(4, 2).activation(std::function<xg::Tensor(const xg::Tensor&)>()));
       }, {"activation"}},
      {"encoder layers", [] { nn::TransformerEncoder(nn::TransformerEncoderLayerOptions(4, 2), 0); }, {"TransformerEncoder", "num_layers"}},
      {"decoder layers", [] { nn::TransformerDecoder(nn::TransformerDecoderLayerOptions(4, 2), 0); }, {"TransformerDecoder", "num_layers"}},
      {"Transformer batch", [] {
         nn::Transformer(nn::TransformerOptions(4, 2, 1, 1).dim_feedforward(8))(f({2, 3, 4}), f({3, 3, 4}));
       }, {"Transformer", "batch"}},
      {"decoder forward_step shape", [] {
         nn::TransformerDecoderLayer dec(nn::TransformerDecoderLayerOptions(4, 2));
         nn::DecoderLayerCache cache;
         dec->forward_step(f({2, 3, 4}), f({2, 3, 4}), cache);
       }, {"forward_step", "one position"}},
      {"PositionalEncoding length", [] { nn::PositionalEncoding(4, 0.0, 10)(f({1, 11, 4})); }, {"PositionalEncoding", "max_len"}},
      {"PositionalEncoding width", [] { nn::PositionalEncoding(4)(f({1, 3, 5})); }, {"PositionalEncoding"}},
      {"PositionalEncoding size", [] { nn::PositionalEncoding(0); }, {"PositionalEncoding", "positive"}},
      {"PositionalEncoding Int64", [] { nn::PositionalEncoding(4)(xg::ones({1, 2, 4}, xg::kInt64)); }, {"PositionalEncoding", "Int64"}},
      {"PositionalEncoding offset", [] { nn::PositionalEncoding(4, 0.0, 10)(f({1, 2, 4}), 9); }, {"PositionalEncoding"}},
      {"LearnedPositionalEncoding length", [] { nn::LearnedPositionalEncoding(5, 4)(f({1, 6, 4})); }, {"LearnedPositionalEncoding"}},
      {"masked_softmax valid_lens", [] { nn::masked_softmax(f({2, 3, 4}), xg::tensor({1, 2, 3})); }, {"masked_softmax", "valid_lens"}},
      {"AdditiveAttention 2-D", [] { nn::AdditiveAttention(3, 2, 4)(f({2, 2}), f({2, 3}), f({2, 3})); }, {"AdditiveAttention", "3-D"}},
      {"DotProductAttention dropout", [] { nn::DotProductAttention(-0.1); }, {"DotProductAttention"}},
      {"subsequent mask size", [] { nn::generate_square_subsequent_mask(-1); }, {"generate_square_subsequent_mask"}},
      {"register twice", [] {
         struct M : nn::Module {
           M() {
             register_parameter("w", xg::ones({1}));
             register_parameter("w", xg::ones({1}));
           }
         } m;
       }, {"register_parameter", "'w'"}},
      {"register dotted name", [] {
         struct M : nn::Module {
           M() { register_parameter("a.b", xg::ones({1})); }
         } m;
       }, {"register_parameter", "a.b"}},
      {"load missing file", [] { nn::Linear(3, 2)->load("/nonexistent/model.npz"); }, {"/nonexistent/model.npz"}},
      {"ModuleList index", [] { nn::ModuleList list; (*list)[3]; }, {"ModuleList", "3"}},
      {"empty holder", [] { nn::Linear empty(nullptr); empty->forward(f({1, 1})); }, {"empty module holder"}},
  };
}

std::vector<Case> optim_cases() {
  auto w = [] { return xg::TensorList{leaf({2})}; };
  return {
      {"SGD negative lr", [=] { optim::SGD(w(), optim::SGDOptions(-0.1)); }, {"SGD", "learning rate"}},
      {"SGD NaN lr", [=] { optim::SGD(w(), optim::SGDOptions(NAN)); }, {"SGD", "learning rate"}},
      {"SGD Nesterov", [=] { optim::SGD(w(), optim::SGDOptions(0.1).nesterov(true)); }, {"SGD", "Nesterov"}},
      {"SGD negative momentum", [=] { optim::SGD(w(), optim::SGDOptions(0.1).momentum(-1)); }, {"SGD", "momentum"}},
      {"SGD weight decay", [=] { optim::SGD(w(), optim::SGDOptions(0.1).weight_decay(-1)); }, {"SGD", "weight_decay"}},
      {"Adam beta1", [=] { optim::Adam(w(), optim::AdamOptions().betas({1.0, 0.9})); }, {"Adam", "beta1"}},
      {"Adam beta2", [=] { optim::Adam(w(), optim::AdamOptions().betas({0.9, -0.1})); }, {"Adam", "beta2"}},
      {"Adam eps", [=] { optim::Adam(w(), optim::AdamOptions().eps(-1)); }, {"Adam", "eps"}},
      {"AdamW weight decay", [=] { optim::AdamW(w(), optim::AdamWOptions().weight_decay(NAN)); }, {"AdamW", "weight_decay"}},
      {"RMSprop alpha", [=] { optim::RMSprop(w(), optim::RMSpropOptions().alpha(-1)); }, {"RMSprop", "alpha"}},
      {"Adadelta rho", [=] { optim::Adadelta(w(), optim::AdadeltaOptions().rho(1.5)); }, {"Adadelta", "rho"}},
      {"Adagrad lr_decay", [=] { optim::Adagrad(w(), optim::AdagradOptions().lr_decay(-1)); }, {"Adagrad", "lr_decay"}},
      {"parameter twice", [] {
         xg::Tensor p = leaf({2});
         optim::SGD({p, p}, optim::SGDOptions(0.1));
       }, {"SGD", "more than once"}},
      {"parameter without grad", [] { optim::SGD({f({2})}, optim::SGDOptions(0.1)); }, {"SGD", "requires grad"}},
      {"Int64 parameter", [] { optim::SGD({xg::ones({2}, xg::kInt64)}, optim::SGDOptions(0.1)); }, {"SGD", "floating"}},
      {"empty group", [] { optim::SGD(xg::TensorList{}, optim::SGDOptions(0.1)); }, {"SGD", "at least one"}},
      {"no such group (lr)", [=] { optim::SGD(w(), optim::SGDOptions(0.1)).lr(7); }, {"SGD", "group 7"}},
      {"no such group (set_lr)", [=] { optim::SGD(w(), optim::SGDOptions(0.1)).set_lr(2, 0.1); }, {"SGD", "group 2"}},
      {"set_lr negative", [=] { optim::SGD(w(), optim::SGDOptions(0.1)).set_lr(0, -1); }, {"SGD", "learning rate"}},
      {"optimizer load other shapes", [=] {
         xg::Tensor a = leaf({3});
         optim::Adam src({a});
         a.set_grad(xg::ones({3}));
         src.step();
         optim::Adam(w()).load_state_dict(src.state_dict());
       }, {"load_state_dict", "[3]"}},
      {"optimizer load missing file", [=] { optim::Adam(w()).load("/nonexistent/opt.npz"); }, {"/nonexistent/opt.npz"}},
      {"StepLR step_size", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::StepLR(o, 0);
       }, {"StepLR", "step_size"}},
      {"CosineAnnealingLR T_max", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::CosineAnnealingLR(o, 0);
       }, {"CosineAnnealingLR", "T_max"}},
      {"warm restarts T_0", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::CosineAnnealingWarmRestarts(o, 0);
       }, {"CosineAnnealingWarmRestarts", "T_0"}},
      {"warm restarts T_mult", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::CosineAnnealingWarmRestarts(o, 3, 0);
       }, {"CosineAnnealingWarmRestarts", "T_mult"}},
      {"LinearLR start", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::LinearLR(o, 0.0);
       }, {"LinearLR", "start_factor"}},
      {"LinearLR total", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::LinearLR(o, optim::LinearLROptions().total_iters(0));
       }, {"LinearLR", "total_iters"}},
      {"OneCycleLR total", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1).momentum(0.9));
         optim::OneCycleLR(o, 0.1, 0);
       }, {"OneCycleLR", "total_steps"}},
      {"OneCycleLR pct_start", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1).momentum(0.9));
         optim::OneCycleLR(o, optim::OneCycleLROptions(0.1, 10).pct_start(2.0));
       }, {"OneCycleLR", "pct_start"}},
      {"OneCycleLR past the end", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1).momentum(0.9));
         optim::OneCycleLR s(o, 0.1, 3);
         for (int k = 0; k < 5; ++k) s.step();
       }, {"OneCycleLR", "total steps"}},
      {"OneCycleLR without momentum", [=] {
         optim::Adagrad o(w());
         optim::OneCycleLR(o, 0.1, 10);
       }, {"OneCycleLR", "momentum"}},
      {"ReduceLROnPlateau factor", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::ReduceLROnPlateau(o, optim::ReduceLROnPlateauOptions().factor(1.5));
       }, {"ReduceLROnPlateau", "factor"}},
      {"SequentialLR milestones", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         auto a = std::make_shared<optim::LinearLR>(o, 0.5);
         optim::SequentialLR(o, optim::SequentialLROptions({a, a}, {}));
       }, {"SequentialLR", "milestones"}},
      {"SequentialLR empty", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::SequentialLR(o, optim::SequentialLROptions({}, {}));
       }, {"SequentialLR"}},
      {"NoamLR d_model", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::NoamLR(o, 0, 10);
       }, {"NoamLR"}},
      {"LinearWarmupCosine order", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::LinearWarmupCosine(o, 10, 5);
       }, {"LinearWarmupCosine", "warmup_steps"}},
      {"LinearWarmupCosine min_lr", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::LinearWarmupCosine(o, 1, 5, -1.0);
       }, {"LinearWarmupCosine", "min_lr"}},
      {"LambdaLR empty", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::LambdaLR(o, std::function<double(int64_t)>());
       }, {"LambdaLR"}},
      {"scheduler load NaN", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::StepLR s(o, 3);
         s.load_state_dict({{"last_epoch", xg::scalar_tensor(NAN, xg::kFloat64)}});
       }, {"LRScheduler", "last_epoch"}},
      {"scheduler load missing", [=] {
         optim::SGD o(w(), optim::SGDOptions(0.1));
         optim::StepLR s(o, 3);
         s.load_state_dict({});
       }, {"LRScheduler", "last_epoch"}},
  };
}

}  // namespace

TEST_CASE("a wall of bad inputs: each is an xgrad::Error naming the op and the problem", "[misuse]") {
  std::vector<Case> all;
  for (auto part : {tensor_cases(), file_cases(), module_cases(), optim_cases()})
    all.insert(all.end(), part.begin(), part.end());
  INFO(all.size() << " cases");
  CHECK(all.size() >= 150);
  for (const auto& c : all) {
    INFO(c.name);
    std::string message;
    try {
      c.run();
    } catch (const xg::Error& e) {
      message = e.what();
    }
    INFO("message: " << message);
    CHECK_FALSE(message.empty());
    for (const auto& part : c.message) CHECK_THAT(message, Catch::Contains(part));
  }
}

TEST_CASE("objects involved in a refused call are unchanged", "[misuse]") {
  xg::manual_seed(2);
  nn::Linear lin(3, 2);
  const xg::Tensor w0 = lin->weight.clone();
  auto sd = lin->state_dict();
  sd[0].second = xg::ones({5, 5});
  CHECK_THROWS_AS(lin->load_state_dict(sd), xg::Error);
  CHECK(xg::equal(lin->weight, w0));

  xg::Tensor p = leaf({3});
  optim::Adam adam({p}, optim::AdamOptions(0.1));
  p.set_grad(xg::ones({3}));
  adam.step();
  const auto state = adam.state_dict();
  auto bad = state;
  for (auto& [k, v] : bad)
    if (k == "state.0.0.exp_avg") v = xg::scalar_tensor(1.0);
  CHECK_THROWS_AS(adam.load_state_dict(bad), xg::Error);
  const auto after = adam.state_dict();
  REQUIRE(after.size() == state.size());
  for (size_t k = 0; k < state.size(); ++k) CHECK(xg::equal(after[k].second, state[k].second));

  xg::Tensor t = xg::ones({2});
  CHECK_THROWS_AS(t.add_(xg::ones({3, 2})), xg::Error);
  CHECK(xg::equal(t, xg::ones({2})));
  CHECK(t._version() == 0);
}
