#!/usr/bin/python3
"""One training step of bench/train_step.cpp's configurations in PyTorch 1.13: forward,
cross-entropy, backward, clip 1.0, AdamW, dropout 0.1. Usage:
  train_step.py char-lm|char-lm@T|tiny-seq2seq|d2l-seq2seq [threads] [steps]
Prints: torch <config> threads N checkpoint 0 ms <median step> gflop <per step> gflops <rate> extra_mb <peak − start>"""
import sys
import time

import torch
import torch.nn as nn

from measure import median, status_mb

CONFIGS = {  # d, heads, layers, ffn, batch, src_len, tgt_len, src_vocab, tgt_vocab, decoder_only
    "char-lm": (128, 4, 4, 512, 64, 0, 128, 0, 65, True),
    "tiny-seq2seq": (64, 4, 2, 256, 64, 24, 16, 40, 24, False),
    "d2l-seq2seq": (256, 4, 2, 64, 128, 10, 10, 200, 200, False),
}


def matmul_gflop(d, heads, layers, ffn, B, S, T, sv, tv, decoder_only):
    def proj(tokens, i, o):
        return 2 * tokens * i * o

    def attn(L, keys):
        return 2 * 2 * B * L * keys * d

    def self_layer(L):
        return 4 * proj(B * L, d, d) + attn(L, L) + 2 * proj(B * L, d, ffn)
    fwd = proj(B * T, d, tv)
    if decoder_only:
        fwd += layers * self_layer(T)
    else:
        cross = 2 * proj(B * T, d, d) + 2 * proj(B * S, d, d) + attn(T, S)
        fwd += layers * self_layer(S) + layers * (self_layer(T) + cross)
    return 3 * fwd / 1e9


class CharLM(nn.Module):
    def __init__(self, d, heads, layers, ffn, T, V):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, 0.1, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, V)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

    def forward(self, ids):
        return self.head(self.ln_f(self.blocks(self.tok(ids) + self.pos.weight.unsqueeze(0), self.mask)))


class PositionalEncoding(nn.Module):
    def __init__(self, d, dropout, max_len):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float32) / d)
        P = torch.zeros(1, max_len, d)
        P[0, :, 0::2], P[0, :, 1::2] = torch.sin(pos / div), torch.cos(pos / div)
        self.register_buffer("P", P)

    def forward(self, x):
        return self.dropout(x + self.P[:, :x.shape[1]])


class Seq2Seq(nn.Module):
    def __init__(self, d, heads, layers, ffn, T, sv, tv):
        super().__init__()
        self.src, self.tgt = nn.Embedding(sv, d), nn.Embedding(tv, d)
        self.pe = PositionalEncoding(d, 0.1, 64)
        self.transformer = nn.Transformer(d, heads, layers, layers, ffn, 0.1, batch_first=True)
        self.head = nn.Linear(d, tv)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

    def forward(self, s, t):
        return self.head(self.transformer(self.pe(self.src(s)), self.pe(self.tgt(t)), tgt_mask=self.mask))


def main():
    name = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    before = status_mb("VmRSS:")
    if name.startswith("char-lm@"):  # context T, batch 8192 / T: tokens per step fixed
        T = int(name[8:])
        cfg = (128, 4, 4, 512, max(1, 8192 // T), 0, T, 0, 65, True)
    else:
        cfg = CONFIGS[name]
    d, heads, layers, ffn, B, S, T, sv, tv, decoder_only = cfg
    ids = torch.randint(0, tv, (B, T + 1))
    inp, target = ids[:, :T].contiguous(), ids[:, 1:].contiguous()
    if decoder_only:
        model = CharLM(d, heads, layers, ffn, T, tv)
        loss = lambda: nn.functional.cross_entropy(model(inp).reshape(-1, tv), target.reshape(-1))
    else:
        model = Seq2Seq(d, heads, layers, ffn, T, sv, tv)
        src = torch.randint(0, sv, (B, S))
        loss = lambda: nn.functional.cross_entropy(model(src, inp).reshape(-1, tv), target.reshape(-1))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for s in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        l = loss()
        l.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
    step = median(times)
    gflop = matmul_gflop(*cfg)
    print(f"torch {name} threads {threads} checkpoint 0 ms {step:.2f} gflop {gflop:.2f} "
          f"gflops {gflop / (step / 1e3):.1f} extra_mb {status_mb('VmHWM:') - before:.1f}")


if __name__ == "__main__":
    main()
