#!/usr/bin/python3
"""The translate example's model and training, written in PyTorch 1.13, for a side-by-side
time-to-accuracy comparison on the same data (not a dependency of xgrad).

    build/examples/translate --export-splits --name dates ...   # writes runs/dates/{train,valid,test}.tsv
    bench/translate_torch.py runs/dates [--threads 1] [--time-budget 60]

With --words (a --data corpus: word level, lowercased, punctuation split off, as translate
tokenizes it) and the model and training flags, it runs the same configuration as a translate
run on a user's corpus; --save writes a checkpoint (model, optimizer, schedule) at each epoch's
end as a PyTorch user would, and the end of the run says where the time went.

Same model (embeddings·√d + sinusoidal positions, post-LN nn.Transformer d_model 64, 4 heads,
2+2 layers, ffn 256, dropout 0), same optimisation (AdamW 2e-3, betas 0.9/0.98, eps 1e-9, weight
decay 0.01 on matrices; 100 warmup steps then cosine to 5% over 3 epochs; label smoothing 0.1;
clipping at 1; batch 64), same evaluation (greedy decoding of the 1,000 validation pairs every
200 steps and at each epoch's end, included in the clock). Greedy decoding re-runs the decoder
over the prefix at each step, as PyTorch's nn.Transformer has no key/value cache.
"""
import argparse
import math
import os
import random
import string
import time

import torch
from torch import nn

PAD, BOS, EOS, UNK = 0, 1, 2, 3


def read(path, tokenize):
    with open(path, encoding="utf-8") as f:
        return [tuple(tokenize(x) for x in line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()]


def words(s):
    """translate's --data tokenizer: whitespace separates, punctuation but ' is its own token."""
    out, cur = [], ""
    for c in s:
        if c.isspace():
            out, cur = out + ([cur] if cur else []), ""
        elif c in string.punctuation and c != "'":
            out, cur = out + ([cur] if cur else []) + [c], ""
        else:
            cur += c.lower()
    return out + ([cur] if cur else [])


def vocab(seqs):
    freq = {}
    for s in seqs:
        for c in s:
            freq[c] = freq.get(c, 0) + 1
    itos = ["<pad>", "<bos>", "<eos>", "<unk>"] + sorted(freq, key=lambda c: (-freq[c], c))
    return itos, {c: i for i, c in enumerate(itos)}


def batch(pairs, sv, tv):
    src = [[sv.get(c, UNK) for c in s] + [EOS] for s, _ in pairs]
    tgt = [[tv.get(c, UNK) for c in t] for _, t in pairs]
    S, T = max(map(len, src)), max(map(len, tgt)) + 1
    s = torch.full((len(pairs), S), PAD)
    ti = torch.full((len(pairs), T), PAD)
    to = torch.full((len(pairs), T), PAD)
    for i, (a, b) in enumerate(zip(src, tgt)):
        s[i, : len(a)] = torch.tensor(a)
        ti[i, : len(b) + 1] = torch.tensor([BOS] + b)
        to[i, : len(b) + 1] = torch.tensor(b + [EOS])
    return s, ti, to


class Seq2Seq(nn.Module):
    def __init__(self, nsrc, ntgt, d=64, heads=4, layers=2, ffn=256, max_len=66, dropout=0.0):
        super().__init__()
        self.d = d
        self.src_embed = nn.Embedding(nsrc, d, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(ntgt, d, padding_idx=PAD)
        pos = torch.arange(max_len).unsqueeze(1) / torch.pow(10000, torch.arange(0, d, 2) / d)
        pe = torch.zeros(max_len, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos), torch.cos(pos)
        self.register_buffer("pe", pe)
        self.drop = nn.Dropout(dropout)
        self.transformer = nn.Transformer(d, heads, layers, layers, ffn, dropout=dropout, batch_first=True)
        self.generator = nn.Linear(d, ntgt)
        for e in (self.src_embed, self.tgt_embed):
            nn.init.normal_(e.weight, 0, 1 / math.sqrt(d))
            with torch.no_grad():
                e.weight[PAD].zero_()

    def embed(self, table, ids):
        return self.drop(table(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]])

    def encode(self, src):
        return self.transformer.encoder(self.embed(self.src_embed, src), src_key_padding_mask=src == PAD)

    def decode(self, tgt_in, memory, src):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.transformer.decoder(self.embed(self.tgt_embed, tgt_in), memory, tgt_mask=mask,
                                     tgt_key_padding_mask=tgt_in == PAD, memory_key_padding_mask=src == PAD)
        return self.generator(h)

    def forward(self, src, tgt_in):
        return self.decode(tgt_in, self.encode(src), src)

    @torch.no_grad()
    def greedy(self, src, max_len):
        memory = self.encode(src)
        ys = torch.full((src.shape[0], 1), BOS)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            nxt = self.decode(ys, memory, src)[:, -1].argmax(-1)
            ys = torch.cat([ys, nxt.unsqueeze(1)], 1)
            done |= nxt == EOS
            if done.all():
                break
        return ys[:, 1:]


def exact(model, pairs, sv, tv, titos, max_len=65, loss_fn=None):
    """Greedy exact match over `pairs` (and, with loss_fn, the teacher-forced loss first, as
    translate's validation computes both)."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(pairs), 250):
            chunk = pairs[i : i + 250]
            s, ti, to = batch(chunk, sv, tv)  # s: the padded sources <eos>-ended, as greedy needs them
            if loss_fn is not None:
                loss_fn(model(s, ti).reshape(-1, len(titos)), to.reshape(-1))
            for row, (_, t) in zip(model.greedy(s, max_len).tolist(), chunk):
                pred = [titos[k] for k in (row[: row.index(EOS)] if EOS in row else row)]
                right += pred == list(t)
    model.train()
    return right / len(pairs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a run folder with train.tsv / valid.tsv / test.tsv")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time-budget", type=float, default=120)
    ap.add_argument("--target", type=float, default=0.995, help="stop at this validation exact match (0: never)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--words", action="store_true", help="word-level pairs (a translate --data run)")
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--save", help="write a checkpoint here at each epoch's end (atomically)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    tokenize = words if a.words else list
    cut = lambda pairs: [(s[: a.max_len], t[: a.max_len]) for s, t in pairs]
    train, valid, test = (cut(read(os.path.join(a.run, f"{n}.tsv"), tokenize)) for n in ("train", "valid", "test"))
    sitos, sv = vocab(s for s, _ in train)
    titos, tv = vocab(t for _, t in train)
    model = Seq2Seq(len(sitos), len(titos), a.d_model, a.heads, a.layers, a.ffn, a.max_len + 2, a.dropout)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    lr, epochs, bs = a.lr, a.epochs, a.batch_size
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98), eps=1e-9)
    steps_per_epoch = (len(train) + bs - 1) // bs
    total = steps_per_epoch * epochs
    warmup = min(a.warmup, total // 10 + 1)

    def factor(step):  # LinearWarmupCosine(warmup, total, min_lr = 0.05 lr)
        if step < warmup:
            return (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    print(f"PyTorch {torch.__version__}, {a.threads} thread(s): {len(train)} train / {len(valid)} valid pairs, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    start = time.time()
    spent = {"steps": 0.0, "validation": 0.0, "checkpoints": 0.0}
    t95 = t99 = None
    step = 0
    stop = False
    for epoch in range(1, epochs + 1):
        order = list(range(len(train)))
        random.shuffle(order)
        for b0 in range(0, len(order), bs):
            t0 = time.time()
            s, ti, to = batch([train[i] for i in order[b0 : b0 + bs]], sv, tv)
            opt.zero_grad()
            loss = loss_fn(model(s, ti).reshape(-1, len(titos)), to.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_value = loss.item()
            step += 1
            spent["steps"] += time.time() - t0
            stop = time.time() - start >= a.time_budget
            if step % a.eval_every == 0 or b0 + bs >= len(order) or stop:
                t0 = time.time()
                acc = exact(model, valid, sv, tv, titos, a.max_len + 1, loss_fn)
                spent["validation"] += time.time() - t0
                now = time.time() - start
                t95 = t95 or (now if acc >= 0.95 else None)
                t99 = t99 or (now if acc >= 0.99 else None)
                print(f"epoch {epoch} step {step}  loss {loss_value:.4f}  valid exact {100 * acc:.1f}%  ({now:.1f} s)",
                      flush=True)
                stop = stop or 0 < a.target <= acc
            if stop:
                break
        if a.save:
            t0 = time.time()
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "schedule": sched.state_dict(),
                     "step": step}
            torch.save(state, a.save + ".tmp")
            os.replace(a.save + ".tmp", a.save)
            spent["checkpoints"] += time.time() - t0
        if stop:
            break
    total = time.time() - start
    print(f"time in this run: {total:.1f} s = steps {spent['steps']:.1f} s ({step}, {1000 * spent['steps'] / step:.0f} ms "
          f"each) + validation {spent['validation']:.1f} s + checkpoints {spent['checkpoints']:.1f} s + other "
          f"{total - sum(spent.values()):.1f} s")
    fmt = lambda t: "not reached" if t is None else f"{t:.1f} s"
    print(f"trained {step} steps in {time.time() - start:.1f} s ({1000 * (time.time() - start) / step:.0f} ms/step "
          f"incl. evaluation); time to 95%: {fmt(t95)}, to 99%: {fmt(t99)}")
    print(f"test exact: {100 * exact(model, test, sv, tv, titos, a.max_len + 1):.1f}%")


if __name__ == "__main__":
    main()
