#!/usr/bin/python3
"""PyTorch reference fixtures for the nn layers: for each case, the module's state_dict saved with
numpy.savez (PyTorch names), the inputs (and masks), a random grad_output, and PyTorch's output,
input gradients and parameter gradients. fixtures/nn/<case>/. Run with Debian's python3-torch."""
import os
import shutil

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "nn")
torch.manual_seed(0)
rng = np.random.default_rng(4321)
D = torch.float64


def randn(*s):
    return torch.tensor(rng.standard_normal(s), dtype=D, requires_grad=True)


def causal(n):
    return nn.Transformer.generate_square_subsequent_mask(n).to(D)


def kpm(batch, s, pad):
    """key padding mask: the last pad[b] positions of sequence b are padding (True)."""
    m = torch.zeros(batch, s, dtype=torch.bool)
    for b, p in enumerate(pad):
        if p:
            m[b, s - p:] = True
    return m


def perturb(module):
    """Non-trivial values everywhere (LayerNorm starts at ones/zeros, MHA biases at zero)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return module


def save_case(name, module, inputs, fn):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    module = perturb(module.to(D))
    module.train()  # dropout is 0: train mode keeps torch 1.13 off its fast path
    np.savez(os.path.join(d, "weights.npz"), **{k: v.detach().numpy() for k, v in module.state_dict().items()})
    out = fn(module, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    main = outputs[0]
    gout = torch.tensor(rng.standard_normal(tuple(main.shape)), dtype=D)
    main.backward(gout)
    for i, t in enumerate(inputs):
        if t is None:
            continue
        np.save(os.path.join(d, f"in{i}.npy"), t.detach().numpy())
        if t.requires_grad:
            np.save(os.path.join(d, f"in{i}_grad.npy"), t.grad.numpy())
    np.save(os.path.join(d, "gout.npy"), gout.numpy())
    for i, o in enumerate(outputs):
        np.save(os.path.join(d, f"out{i}.npy"), o.detach().numpy())
    np.savez(os.path.join(d, "param_grads.npz"),
             **{k: p.grad.numpy() for k, p in module.named_parameters() if p.grad is not None})


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    save_case("linear", nn.Linear(5, 3), [randn(2, 4, 5)], lambda m, x: m(x))
    save_case("layer_norm", nn.LayerNorm(6, eps=1e-6), [randn(3, 6)], lambda m, x: m(x))
    save_case("embedding_padding", nn.Embedding(7, 4, padding_idx=0), [torch.tensor([[0, 3, 6], [2, 0, 3]])],
              lambda m, i: m(i))
    save_case("mha_self_causal_padding", nn.MultiheadAttention(8, 2, batch_first=True), [randn(2, 5, 8), causal(5),
              kpm(2, 5, [0, 2])], lambda m, x, am, kp: m(x, x, x, key_padding_mask=kp, attn_mask=am))
    save_case("mha_cross_kdim_boolmask", nn.MultiheadAttention(8, 4, batch_first=True, kdim=5, vdim=6),
              [randn(2, 3, 8), randn(2, 4, 5), randn(2, 4, 6), torch.tensor(rng.random((3, 4)) < 0.3)],
              lambda m, q, k, v, am: m(q, k, v, attn_mask=am, average_attn_weights=False))
    for norm_first, act in ((False, "relu"), (True, "gelu")):
        tag = "pre_ln" if norm_first else "post_ln"
        save_case(f"encoder_layer_{tag}",
                  nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=act,
                                             batch_first=True, norm_first=norm_first),
                  [randn(2, 5, 8), kpm(2, 5, [1, 0])], lambda m, x, kp: m(x, src_key_padding_mask=kp))
        save_case(f"decoder_layer_{tag}",
                  nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=act,
                                             batch_first=True, norm_first=norm_first),
                  [randn(2, 4, 8), randn(2, 5, 8), causal(4), kpm(2, 5, [0, 2])],
                  lambda m, t, mem, tm, mk: m(t, mem, tgt_mask=tm, memory_key_padding_mask=mk))
    save_case("transformer_2_2",
              nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                             dropout=0.0, batch_first=True),
              [randn(2, 5, 8), randn(2, 4, 8), causal(4), kpm(2, 5, [0, 1]), kpm(2, 4, [1, 0])],
              lambda m, s, t, tm, sk, tk: m(s, t, tgt_mask=tm, src_key_padding_mask=sk, tgt_key_padding_mask=tk,
                                            memory_key_padding_mask=sk))
    # Recurrent layers: output 0 is every output flattened into one vector, so that the random
    # grad_output reaches the final states too.
    flat = lambda *ts: torch.cat([t.reshape(-1) for t in ts])
    save_case("gru_2layer_batch_first", nn.GRU(5, 4, num_layers=2, batch_first=True), [randn(2, 3, 5), randn(2, 2, 4)],
              lambda m, x, h: (lambda o, h: (flat(o, h), o, h))(*m(x, h)))
    save_case("gru_bidirectional", nn.GRU(3, 4, bidirectional=True), [randn(5, 2, 3)],
              lambda m, x: (lambda o, h: (flat(o, h), o, h))(*m(x)))
    save_case("lstm_2layer_bidirectional", nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True),
              [randn(2, 4, 4), randn(4, 2, 3), randn(4, 2, 3)],
              lambda m, x, h, c: (lambda o, hc: (flat(o, *hc), o, *hc))(*m(x, (h, c))))
    save_case("lstm_nobias_unbatched", nn.LSTM(3, 4, bias=False), [randn(6, 3), randn(1, 4), randn(1, 4)],
              lambda m, x, h, c: (lambda o, hc: (flat(o, *hc), o, *hc))(*m(x, (h, c))))
    save_case("gru_cell", nn.GRUCell(5, 4), [randn(3, 5), randn(3, 4)], lambda m, x, h: m(x, h))
    save_case("lstm_cell", nn.LSTMCell(5, 4), [randn(3, 5), randn(3, 4), randn(3, 4)],
              lambda m, x, h, c: (lambda hc: (flat(*hc), *hc))(m(x, (h, c))))
    nadaraya_watson()
    print(f"wrote nn fixtures to {OUT}")


def nadaraya_watson():
    """d2l 10.2's parametric attention pooling, its code run in float64 on fixed data and a fixed
    initial w: w and the summed loss after each of 5 SGD epochs (lr 0.5), then the test estimates
    and attention weights. examples/tests/attention_pooling_test.cpp follows it."""
    d = os.path.join(OUT, "nadaraya_watson")
    os.makedirs(d)
    n_train = 50
    x_train = torch.tensor(np.sort(rng.random(n_train) * 5), dtype=D)
    f = lambda x: 2 * torch.sin(x) + x ** 0.8
    y_train = f(x_train) + torch.tensor(rng.normal(0.0, 0.5, n_train), dtype=D)
    x_test = torch.arange(0, 5, 0.1, dtype=D)
    w = torch.tensor([0.7], dtype=D, requires_grad=True)

    def net(queries, keys, values):
        queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
        weights = nn.functional.softmax(-((queries - keys) * w) ** 2 / 2, dim=1)
        return torch.bmm(weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1), weights

    keep = (1 - torch.eye(n_train)).type(torch.bool)
    keys = x_train.repeat((n_train, 1))[keep].reshape((n_train, -1))
    values = y_train.repeat((n_train, 1))[keep].reshape((n_train, -1))
    sgd = torch.optim.SGD([w], lr=0.5)
    ws, losses = [], []
    for _ in range(5):
        sgd.zero_grad()
        loss = ((net(x_train, keys, values)[0] - y_train) ** 2).sum()
        loss.backward()
        sgd.step()
        ws.append(w.item())
        losses.append(loss.item())
    with torch.no_grad():
        y_hat, weights = net(x_test, x_train.repeat((len(x_test), 1)), y_train.repeat((len(x_test), 1)))
    for name, value in (("x_train", x_train), ("y_train", y_train), ("ws", torch.tensor(ws, dtype=D)),
                        ("losses", torch.tensor(losses, dtype=D)), ("y_hat", y_hat), ("weights", weights)):
        np.save(os.path.join(d, name + ".npy"), value.detach().numpy().astype(np.float64))


if __name__ == "__main__":
    main()


def write_zip64_npz():
    """An .npz whose entries carry zip64 headers (as numpy.savez writes for large arrays)."""
    import io
    import zipfile
    path = os.path.join(HERE, "fixtures", "zip64.npz")
    with zipfile.ZipFile(path, "w") as z:
        for name, arr in (("a", np.arange(6, dtype=np.float64).reshape(2, 3)), ("b", np.array([1, 2, 3], dtype=np.int64))):
            buf = io.BytesIO()
            np.save(buf, arr)
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                f.write(buf.getvalue())


write_zip64_npz()
