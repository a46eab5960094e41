#!/usr/bin/python3
"""Writes PyTorch reference fixtures for the core ops: for each case, its inputs, a random
grad_output, PyTorch's output and the gradient of every floating input, as .npy files under
fixtures/ops/<case>/<dtype>/. Run with Debian's python3-torch (`make fixtures`)."""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "ops")


def normal(*s):
    return ("normal", s)


def positive(*s):
    return ("positive", s)


def index(hi, *s):
    return ("index", (hi, s))


def const(values):
    return ("const", values)


def mask(*s):
    return ("mask", s)


def prob(*s):
    return ("prob", s)


def _index_put(a, v, w):
    b = a.clone()
    b[:, [0, 2]] = v
    return b.index_put((torch.tensor([1, 1, 0]),), w, accumulate=True)


def _index_put_inplace(a, v):
    t = a * 1.0
    t[:2, 1] = v
    return t


# name -> (function of the input tensors, input specs). The C++ test defines the same names.
CASES = {
    "add_broadcast": (lambda a, b: a + b, [normal(3, 4), normal(4)]),
    "sub_mul_div": (lambda a, b, c: (a - b) * c / (b * b + 1.0), [normal(2, 3), normal(3), normal(2, 1)]),
    "pow_exp_log": (lambda a, b: torch.pow(a, 1.7) + torch.exp(b) * torch.log(a), [positive(5), normal(5)]),
    "pow_tensor": (lambda a, b: torch.pow(a, b), [positive(2, 3), normal(3)]),
    "sqrt_rsqrt_abs": (lambda a, b: torch.sqrt(a) + torch.rsqrt(a) * torch.abs(b), [positive(4), normal(4)]),
    "activations": (lambda a: torch.tanh(a) + torch.sigmoid(a) * torch.relu(a) + F.silu(a), [normal(3, 5)]),
    "gelu_erf": (lambda a: F.gelu(a), [normal(4, 6)]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [normal(4, 6)]),
    "clamp_max_min": (lambda a, b: torch.clamp(a, -0.5, 0.8) + torch.maximum(a, b) - torch.minimum(a, b),
                      [normal(3, 4), normal(4)]),
    "where_masked_fill": (lambda a, b: torch.where(a > 0, a, b).masked_fill(b > 0.5, -2.0), [normal(3, 4), normal(3, 4)]),
    "reductions": (lambda a: a.sum(dim=1) + a.mean(dim=1) + a.var(dim=1) + a.amax(dim=1) + a.logsumexp(dim=1),
                   [normal(4, 7)]),
    "reductions_keepdim": (lambda a: (a.sum(dim=(0, 2), keepdim=True) * a.amin(dim=(0, 2), keepdim=True)).sum(dim=1),
                           [normal(3, 4, 5)]),
    "matmul_2d": (lambda a, b: a @ b, [normal(5, 7), normal(7, 3)]),
    "matmul_batched_broadcast": (lambda a, b: a @ b, [normal(2, 1, 4, 6), normal(3, 6, 5)]),
    "matmul_vector": (lambda a, b: a @ b, [normal(6), normal(2, 6, 3)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [normal(2, 3, 8), normal(5, 8), normal(5)]),
    "shape_ops": (lambda a: torch.cat([a.transpose(0, 1).reshape(4, 6), a.permute(1, 2, 0).reshape(4, 6) * 2.0], 0)
                  .narrow(0, 1, 5), [normal(2, 4, 3)]),
    "expand_stack": (lambda a, b: torch.stack([a.expand(3, 4), b.unsqueeze(0).expand(3, 4)], 1).squeeze(),
                     [normal(3, 1), normal(4)]),
    "tril_triu": (lambda a: a.tril(-1) * 2 + a.triu(1), [normal(2, 4, 4)]),
    "index_ops": (lambda a: a.index_select(1, torch.tensor([2, 0, 2])).sum() * a.gather(1, torch.tensor([[0, 1], [2, 2]])),
                  [normal(2, 3)]),
    "embedding": (lambda w: F.embedding(torch.tensor([[3, 0], [3, 1]]), w, padding_idx=0), [normal(5, 4)]),
    "softmax": (lambda a: F.softmax(a, dim=-1), [normal(3, 7)]),
    "softmax_mid_dim": (lambda a: F.softmax(a, dim=1), [normal(2, 5, 3)]),
    "log_softmax": (lambda a: F.log_softmax(a, dim=-1), [normal(4, 9)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (6,), w, b, 1e-5), [normal(2, 3, 6), normal(6), normal(6)]),
    "layer_norm_2d_no_affine": (lambda x: F.layer_norm(x, (3, 4), eps=1e-6), [normal(2, 3, 4)]),
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t), [normal(6, 5), index(5, 6)]),
    "cross_entropy_options": (lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=2, label_smoothing=0.15),
                              [normal(8, 4), index(4, 8), const([0.5, 1.0, 2.0, 1.5])]),
    "cross_entropy_none_3d": (lambda x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
                              [normal(2, 5, 3), index(5, 2, 3)]),
    "cross_entropy_sum": (lambda x, t: F.cross_entropy(x, t, reduction="sum"), [normal(4, 3), index(3, 4)]),
    "nll_loss": (lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, ignore_index=1), [normal(6, 4), index(4, 6)]),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [normal(3, 4), normal(3, 4)]),
    # ---- the everyday ops (issue 12)
    "log1p_expm1_softplus": (lambda a, b: torch.log1p(a) + torch.expm1(a) + F.softplus(b * 3, beta=0.7, threshold=2.0),
                             [positive(4), normal(3, 4)]),
    "mish_hardtanh": (lambda a: F.mish(a) + F.hardtanh(a * 2, -1.0, 0.5), [normal(4, 5)]),
    "std_norms": (lambda a: a.std(dim=1) + a.std(dim=1, unbiased=False) + a.norm(dim=1) + a.norm(p=1, dim=1)
                  + a.norm(p=3, dim=1) + torch.linalg.vector_norm(a, ord=float("inf"), dim=1)
                  + torch.linalg.vector_norm(a, ord=float("-inf"), dim=1), [normal(3, 5)]),
    "cumsum_cumprod": (lambda a, b: a.cumsum(1) + b.cumprod(1), [normal(3, 5), normal(3, 5)]),
    "cumprod_with_zero": (lambda a: torch.cat([a, torch.zeros(1, 4, dtype=a.dtype), a], 0).cumprod(0), [normal(2, 4)]),
    "sort_topk": (lambda a: torch.sort(a, dim=1, descending=True).values * 2 + torch.topk(a, 2, dim=1).values.sum(1, keepdim=True)
                  + torch.topk(a, 2, dim=1, largest=False).values.sum(1, keepdim=True), [normal(3, 5)]),
    "repeat": (lambda a: a.repeat(2, 1, 3), [normal(2, 3)]),
    "repeat_interleave": (lambda a: torch.cat([a.repeat_interleave(2, dim=1),
                                               a.repeat_interleave(torch.tensor([1, 0, 3]), dim=1)], 1), [normal(2, 3)]),
    "flip_roll": (lambda a: a.flip([0, 2]) * a.roll((1, -2), (1, 2)) + a.roll(5), [normal(2, 3, 4)]),
    "bmm_baddbmm": (lambda c, a, b: torch.baddbmm(c, a, b, beta=0.5, alpha=2.0) + torch.bmm(a, b),
                    [normal(3, 1), normal(2, 3, 4), normal(2, 4, 3)]),
    "einsum_batched": (lambda a, b: torch.einsum("bij,bjk->bik", a, b), [normal(2, 3, 4), normal(2, 4, 5)]),
    "einsum_diag_ellipsis": (lambda a, b, c: torch.einsum("ii,...i,ij->...j", a, b, c),
                             [normal(3, 3), normal(2, 3), normal(3, 2)]),
    "einsum_bilinear": (lambda x, w, y: torch.einsum("bn,anm,bm->ba", x, w, y), [normal(4, 3), normal(5, 3, 2), normal(4, 2)]),
    "index_slices": (lambda a: a[:, -1, 1::2] * 2.0 + a[0, ..., None].sum(), [normal(3, 4, 5)]),
    "index_mask": (lambda a, m: a[m], [normal(3, 4), mask(3, 4)]),
    "index_tensors": (lambda a: torch.cat([a[:, torch.tensor([[2], [0], [-1]]), torch.tensor([1, 1])].reshape(-1),
                                           a[torch.tensor([1, 0, 1]), :, torch.tensor([3, 0, 0])].reshape(-1)]),
                      [normal(2, 3, 4)]),
    "index_put": (_index_put, [normal(3, 4), normal(3, 1), normal(4)]),
    "index_put_inplace": (_index_put_inplace, [normal(3, 4), normal(2)]),
    "masked_select_scatter": (lambda a, b, m: torch.cat([a.masked_select(m), a.masked_scatter(m, b).reshape(-1)]),
                              [normal(2, 4), normal(3, 3), mask(2, 4)]),
    # src larger than index: PyTorch 1.13's backward refuses it, so the fixture slices src to the index's
    # shape itself (the same values and gradient as xgrad's use of the whole src).
    "scatter": (lambda a, b: a.scatter(1, torch.tensor([[2, 0], [1, 2]]), b[:2, :2])
                + a.scatter(1, torch.tensor([[2, 0], [1, 2]]), 0.5)
                + a.scatter_add(0, torch.tensor([[1, 0, 0], [1, 1, 0]]), b[:2, :3]),
                [normal(2, 3), normal(3, 3)]),
    # ---- losses (issue 12)
    "l1_smooth_l1_huber": (lambda a, b: torch.stack([F.l1_loss(a, b), F.smooth_l1_loss(a, b, beta=0.5),
                                                     F.huber_loss(a, b, delta=0.7), F.smooth_l1_loss(a, b, reduction="sum")]),
                           [normal(4, 5), normal(4, 5)]),
    "l1_huber_none": (lambda a, b: F.l1_loss(a, b, reduction="none") * F.huber_loss(a, b, reduction="none"),
                      [normal(3, 4), normal(3, 4)]),
    "binary_cross_entropy": (lambda x, t, w: torch.stack([F.binary_cross_entropy(x, t), F.binary_cross_entropy(x, t, weight=w),
                                                          F.binary_cross_entropy(x, t, reduction="sum")]),
                             [prob(4, 3), prob(4, 3), const([0.5, 2.0, 1.0])]),
    "bce_with_logits": (lambda x, t, w, pw: torch.stack([
        F.binary_cross_entropy_with_logits(x * 5, t),
        F.binary_cross_entropy_with_logits(x * 5, t, weight=w, pos_weight=pw),
        F.binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=pw)]),
        [normal(4, 3), prob(4, 3), const([0.5, 2.0, 1.0]), const([3.0, 0.5, 1.0])]),
    "kl_div": (lambda x, t, lt: torch.stack([F.kl_div(F.log_softmax(x, 1), F.softmax(t, 1), reduction="batchmean"),
                                             F.kl_div(F.log_softmax(x, 1), F.log_softmax(lt, 1), reduction="sum", log_target=True),
                                             F.kl_div(F.log_softmax(x, 1), F.softmax(t, 1), reduction="mean")]),
               [normal(4, 5), normal(4, 5), normal(4, 5)]),
    "nll_loss_weighted": (lambda x, t, w: F.nll_loss(F.log_softmax(x, 1), t, weight=w),
                          [normal(6, 4), index(4, 6), const([0.5, 1.0, 2.0, 1.5])]),
}


def make_input(spec, dtype, rng):
    kind, arg = spec
    if kind == "normal":
        return torch.tensor(rng.standard_normal(arg), dtype=dtype, requires_grad=True)
    if kind == "positive":
        return torch.tensor(rng.uniform(0.5, 2.0, arg), dtype=dtype, requires_grad=True)
    if kind == "prob":
        return torch.tensor(rng.uniform(0.05, 0.95, arg), dtype=dtype, requires_grad=True)
    if kind == "mask":
        return torch.tensor(rng.standard_normal(arg) > 0)
    if kind == "index":
        hi, shape = arg
        return torch.tensor(rng.integers(0, hi, shape), dtype=torch.int64)
    return torch.tensor(arg, dtype=dtype)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    rng = np.random.default_rng(1234)
    for name, (fn, specs) in CASES.items():
        for dtype, tag in ((torch.float64, "float64"), (torch.float32, "float32")):
            d = os.path.join(OUT, name, tag)
            os.makedirs(d)
            inputs = [make_input(s, dtype, rng) for s in specs]
            out = fn(*inputs)
            gout = torch.tensor(rng.standard_normal(tuple(out.shape)), dtype=dtype)
            out.backward(gout)
            for i, t in enumerate(inputs):
                np.save(os.path.join(d, f"in{i}.npy"), t.detach().numpy())
                if t.requires_grad:
                    np.save(os.path.join(d, f"grad{i}.npy"), t.grad.numpy())
            np.save(os.path.join(d, "gout.npy"), gout.numpy())
            np.save(os.path.join(d, "out.npy"), out.detach().numpy())
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
