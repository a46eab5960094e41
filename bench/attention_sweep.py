#!/usr/bin/python3
"""One point of the attention sweep for PyTorch 1.13 (no fused attention: the composite formula
nn.MultiheadAttention runs): batch 1, 8 heads, head dim 64, causal, forward + backward.
Usage: attention_sweep.py T [steps] [threads]. Prints the same line as bench/attention_sweep."""
import sys
import time

import torch

from measure import median, status_mb


def main():
    T = int(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    before = status_mb("VmRSS:")
    q, k, v = (torch.randn(1, 8, T, 64, requires_grad=True) for _ in range(3))
    g = torch.randn(1, 8, T, 64)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    times = []
    for s in range(steps + 1):
        t0 = time.perf_counter()
        scores = (q @ k.transpose(-2, -1)) * (64 ** -0.5)
        w = torch.softmax(scores.masked_fill(causal, float("-inf")), -1)
        (w @ v).backward(g)
        q.grad = k.grad = v.grad = None
        if s > 0:
            times.append((time.perf_counter() - t0) * 1e3)
    print(f"torch composite T {T} ms {median(times):.2f} extra_mb {status_mb('VmHWM:') - before:.1f}")


if __name__ == "__main__":
    main()
