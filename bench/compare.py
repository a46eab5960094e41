#!/usr/bin/python3
"""Times PyTorch on the shapes of xgrad_bench and prints both side by side with ratios.
Usage: compare.py xgrad_bench.json   (scripts/bench.sh runs both in one go)."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def timeit(fn, min_time=0.3, repetitions=5):
    """Median over repetitions of the mean time per call."""
    fn()
    times = []
    for _ in range(repetitions):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_time:
            fn()
            n += 1
        times.append((time.perf_counter() - start) / n)
    return sorted(times)[len(times) // 2]


def op_overhead(backward=True):
    """100 recorded ops (50 mul + 50 add) on 1-element tensors, with or without backward."""
    x = torch.ones(1, requires_grad=True)
    c = torch.full((1,), 1.0001)

    def run():
        y = x
        for _ in range(50):
            y = y * c + c
        if backward:
            y.sum().backward()
            x.grad = None
    return run


def matmul(n):
    a = torch.randn(n, n, requires_grad=True)
    b = torch.randn(n, n, requires_grad=True)
    g = torch.randn(n, n)

    def run():
        (a @ b).backward(g)
        a.grad = b.grad = None
    return run


def softmax(r, c):
    x = torch.randn(r, c, requires_grad=True)
    g = torch.randn(r, c)

    def run():
        F.softmax(x, -1).backward(g)
        x.grad = None
    return run


def layer_norm(r, c):
    x = torch.randn(r, c, requires_grad=True)
    w = torch.ones(c, requires_grad=True)
    b = torch.zeros(c, requires_grad=True)
    g = torch.randn(r, c)

    def run():
        F.layer_norm(x, (c,), w, b).backward(g)
        x.grad = w.grad = b.grad = None
    return run


def cross_entropy(r, c):
    x = torch.randn(r, c, requires_grad=True)
    t = torch.randint(0, c, (r,))

    def run():
        F.cross_entropy(x, t).backward()
        x.grad = None
    return run


def module_fwd_bwd(make, shape, call=None):
    m = make().train()
    x = torch.randn(*shape, requires_grad=True)
    g = torch.randn(*shape)
    call = call or (lambda m, x: m(x))

    def run():
        call(m, x).backward(g)
        m.zero_grad(set_to_none=True)
        x.grad = None
    return run


def mha():
    mask = torch.nn.Transformer.generate_square_subsequent_mask(64)
    return module_fwd_bwd(lambda: torch.nn.MultiheadAttention(256, 4, batch_first=True), (32, 64, 256),
                          lambda m, x: m(x, x, x, attn_mask=mask, need_weights=False)[0])


def attention(T):
    """Causal attention, batch 1, 8 heads, head dim 64, forward + backward: the composite formula
    (PyTorch 1.13 has no fused attention), against both of xgrad's."""
    q, k, v = (torch.randn(1, 8, T, 64, requires_grad=True) for _ in range(3))
    g = torch.randn(1, 8, T, 64)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)

    def run():
        w = torch.softmax((q @ k.transpose(-2, -1) * 0.125).masked_fill(causal, float("-inf")), -1)
        (w @ v).backward(g)
        q.grad = k.grad = v.grad = None
    return run


def adam_10m():
    p = torch.randn(10_000_000, requires_grad=True)
    p.grad = torch.randn(10_000_000)
    opt = torch.optim.Adam([p], lr=1e-3, foreach=True)
    opt.step()
    return opt.step


TORCH = {
    "BM_AdamStep10M": adam_10m,
    "BM_Linear": lambda: module_fwd_bwd(lambda: torch.nn.Linear(512, 512), (64, 64, 512)),
    "BM_LayerNormModule": lambda: module_fwd_bwd(lambda: torch.nn.LayerNorm(512), (64, 64, 512)),
    "BM_MHA": mha,
    "BM_EncoderLayer": lambda: module_fwd_bwd(
        lambda: torch.nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True), (32, 64, 256)),
    "BM_OpOverhead": op_overhead,
    "BM_AttentionFused/128": lambda: attention(128),
    "BM_AttentionFused/1024": lambda: attention(1024),
    "BM_AttentionComposite/128": lambda: attention(128),
    "BM_AttentionComposite/1024": lambda: attention(1024),
    "BM_OpOverheadForward": lambda: op_overhead(backward=False),
    "BM_MatmulFwdBwd/128": lambda: matmul(128),
    "BM_MatmulFwdBwd/512": lambda: matmul(512),
    "BM_MatmulFwdBwd/1024": lambda: matmul(1024),
    "BM_SoftmaxFwdBwd/4096/1024": lambda: softmax(4096, 1024),
    "BM_LayerNormFwdBwd/4096/1024": lambda: layer_norm(4096, 1024),
    "BM_CrossEntropyFwdBwd/4096/1024": lambda: cross_entropy(4096, 1024),
}


FUSED = {"BM_SoftmaxFwdBwd/4096/1024", "BM_LayerNormFwdBwd/4096/1024", "BM_CrossEntropyFwdBwd/4096/1024"}


def main():
    data = json.load(open(sys.argv[1]))
    # With repetitions, keep each benchmark's median row under its plain name.
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
            b = dict(b, name=b["run_name"])
        rows[b["name"].removesuffix("/real_time")] = b
    # Repetitions run interleaved; print in the order the benchmarks are declared.
    rows = dict(sorted(rows.items(), key=lambda r: (r[1].get("family_index", 0), r[1].get("per_family_instance_index", 0))))
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'benchmark':34s} {'xgrad':>12s} {'torch':>12s} {'xgrad/torch':>12s}  extra")
    for name, b in rows.items():
        ours = b["real_time"] * unit[b["time_unit"]]
        extra = ", ".join(f"{k}={b[k]:.3g}" for k in ("ns_per_op", "GFLOPs", "GBps") if k in b)
        if name in TORCH:
            theirs = timeit(TORCH[name]())
            print(f"{name:34s} {ours*1e3:10.3f}ms {theirs*1e3:10.3f}ms {ours/theirs:12.2f}  {extra}")
            if name in FUSED:  # xgrad runs these on every core: so may torch
                one = torch.get_num_threads()
                torch.set_num_threads(os.cpu_count() or 1)
                theirs = timeit(TORCH[name]())
                label = f"  ...torch on {torch.get_num_threads()} threads"
                print(f"{label:34s} {'':>12s} {theirs*1e3:10.3f}ms {ours/theirs:12.2f}")
                torch.set_num_threads(one)
        else:
            print(f"{name:34s} {ours*1e3:10.3f}ms {'':>12s} {'':>12s}  {extra}")
    raw = {int(n.split('/')[1]): r["real_time"] for n, r in rows.items() if n.startswith("BM_RawSgemmX3/")}
    for n, r in rows.items():
        if n.startswith("BM_MatmulFwdBwd/"):
            k = int(n.split('/')[1])
            if k in raw:
                print(f"matmul fwd+bwd {k}: xgrad / raw sgemm = {r['real_time'] / raw[k]:.3f}")
    mem = rows.get("BM_Memcpy/4096/1024")
    mem_all = rows.get("BM_MemcpyAllThreads/4096/1024")
    if mem:
        for n, r in rows.items():
            if "GBps" in r and not n.startswith("BM_Memcpy"):
                both = f", {r['GBps']/mem_all['GBps']:.2f} of memcpy on all threads" if mem_all else ""
                print(f"{n}: {r['GBps']/mem['GBps']:.2f} of single-threaded memcpy bandwidth{both}")


if __name__ == "__main__":
    main()
