#!/usr/bin/python3
"""bench/generate.cpp's loop in PyTorch 1.13: the char_lm GPT (pre-LN blocks: causal self-attention
with nn.MultiheadAttention's packed in_proj, GELU MLP) continuing a 1-token prompt by 127 tokens
greedily, on a hand-written key/value cache, in inference mode; or ("translate") the translate
example's shape as nn.Transformer decoding 32 tokens greedily after a 24-token source, re-running the
decoder over the prefix (nn.Transformer has no cache). Usage: generate.py [batch] [threads] [model]"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from measure import median
from train_step import PositionalEncoding

D, H, LAYERS, FFN, CONTEXT, VOCAB = 128, 4, 4, 512, 128, 65


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = nn.MultiheadAttention(D, H, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(D, FFN), nn.Linear(FFN, D)

    def step(self, x, cache):  # x (B, 1, D); cache: [k, v] of (B, H, t, hd) or None
        B = x.shape[0]
        h = self.ln1(x)
        q, k, v = F.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias).chunk(3, -1)
        heads = lambda t: t.view(B, -1, H, D // H).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if cache[0] is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        cache[0], cache[1] = k, v
        w = torch.softmax(q @ k.transpose(-2, -1) / (D // H) ** 0.5, -1)
        a = (w @ v).transpose(1, 2).reshape(B, 1, D)
        y = x + self.attn.out_proj(a)
        return y + self.fc2(F.gelu(self.fc1(self.ln2(y))))


def timed(run):
    run()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return median(times)


def translate(B, threads):
    src_e, tgt_e = nn.Embedding(40, 64), nn.Embedding(24, 64)
    tr = nn.Transformer(64, 4, 2, 2, 256, 0.0, batch_first=True).eval()
    head = nn.Linear(64, 24)
    P = PositionalEncoding(64, 0.0, 64).P[0]  # train_step.py's sinusoids
    src = torch.randint(1, 40, (B, 24))
    steps = 32

    def run():
        with torch.inference_mode():
            memory = tr.encoder(src_e(src) + P[:24])
            ys = torch.ones(B, 1, dtype=torch.long)
            for _ in range(steps):
                T = ys.shape[1]
                mask = nn.Transformer.generate_square_subsequent_mask(T)
                h = tr.decoder(tgt_e(ys) + P[:T], memory, tgt_mask=mask)
                ys = torch.cat([ys, head(h[:, -1]).argmax(-1, keepdim=True)], 1)
        return ys
    sec = timed(run)
    print(f"torch generate batch {B} threads {threads} tokens_per_s {B * steps / sec:.0f} ms_per_token {sec * 1e3 / steps:.3f} translate")


def main():
    B = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if len(sys.argv) > 3 and sys.argv[3] == "translate":
        return translate(B, threads)
    tok, pos = nn.Embedding(VOCAB, D), nn.Embedding(CONTEXT, D)
    blocks = nn.ModuleList(Block() for _ in range(LAYERS))
    ln_f, head = nn.LayerNorm(D), nn.Linear(D, VOCAB)
    steps = CONTEXT - 1

    def run():
        with torch.inference_mode():
            cache = [[None, None] for _ in blocks]
            ids = torch.zeros(B, 1, dtype=torch.long)
            for t in range(steps):
                x = tok(ids) + pos.weight[t]
                for b, c in zip(blocks, cache):
                    x = b.step(x, c)
                ids = head(ln_f(x)).argmax(-1)
        return ids
    sec = timed(run)
    print(f"torch generate batch {B} threads {threads} tokens_per_s {B * steps / sec:.0f} ms_per_token {sec * 1e3 / steps:.3f} char-lm")


if __name__ == "__main__":
    main()
