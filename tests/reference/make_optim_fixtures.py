#!/usr/bin/python3
"""torch.optim 1.13 reference fixtures: (1) each optimizer configuration run for 50 steps on the
same two parameters and fixed gradient sequence, parameters saved after steps 25 and 50;
(2) each learning-rate schedule's lr sequence (and momentum where it cycles). fixtures/optim/."""
import math
import os
import shutil

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "optim")
rng = np.random.default_rng(99)

O = torch.optim
# name -> (class, kwargs). tests/optim/parity_test.cpp builds the same by name.
OPTIMIZERS = {
    "sgd": (O.SGD, dict(lr=0.1)),
    "sgd_momentum": (O.SGD, dict(lr=0.1, momentum=0.9)),
    "sgd_dampening_wd": (O.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (O.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)),
    "adagrad": (O.Adagrad, dict(lr=0.1)),
    "adagrad_options": (O.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    "rmsprop": (O.RMSprop, dict(lr=0.01)),
    "rmsprop_centered_momentum": (O.RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    "rmsprop_alpha": (O.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6)),
    "adadelta": (O.Adadelta, dict()),
    "adadelta_options": (O.Adadelta, dict(lr=0.5, rho=0.95, weight_decay=0.01)),
    "adam": (O.Adam, dict(lr=0.01)),
    "adam_amsgrad_wd": (O.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    "adam_betas_maximize": (O.Adam, dict(lr=0.001, betas=(0.8, 0.99), eps=1e-6, maximize=True)),
    "adamw": (O.AdamW, dict(lr=0.01)),
    "adamw_options": (O.AdamW, dict(lr=0.01, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.1, amsgrad=True)),
    "radam": (O.RAdam, dict(lr=0.01)),
    "radam_options": (O.RAdam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    "nadam": (O.NAdam, dict()),
    "nadam_options": (O.NAdam, dict(lr=0.01, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.01, momentum_decay=0.01)),
}


def optimizer_fixtures():
    shapes = [(3, 4), (5,)]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal((50,) + s) for s in shapes]
    for dtype, tag in ((torch.float64, "float64"), (torch.float32, "float32")):
        d = os.path.join(OUT, "data", tag)
        os.makedirs(d)
        for i in range(2):
            np.save(os.path.join(d, f"p{i}.npy"), init[i].astype(np.float64 if tag == "float64" else np.float32))
            np.save(os.path.join(d, f"g{i}.npy"), grads[i].astype(np.float64 if tag == "float64" else np.float32))
        for name, (cls, kw) in OPTIMIZERS.items():
            params = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in init]
            opt = cls(params, **kw)
            cd = os.path.join(OUT, name, tag)
            os.makedirs(cd)
            for step in range(50):
                for p, g in zip(params, grads):
                    p.grad = torch.tensor(g[step], dtype=dtype)
                opt.step()
                if step + 1 in (25, 50):
                    for i, p in enumerate(params):
                        np.save(os.path.join(cd, f"p{i}_step{step + 1}.npy"), p.detach().numpy())


def noam(e, d_model=64, warmup=10, factor=2.0):
    s = e + 1
    return factor * d_model ** -0.5 * min(s ** -0.5, s * warmup ** -1.5)


def warmup_cosine(e, base=0.1, warmup=10, total=50, min_lr=0.001):
    if e < warmup:
        return (e + 1) / warmup
    if e >= total:
        return min_lr / base
    return (min_lr + (base - min_lr) * (1 + math.cos(math.pi * (e - warmup) / (total - warmup))) / 2) / base


S = O.lr_scheduler
SCHEDULES = {
    "lambda": (lambda o: S.LambdaLR(o, lambda e: 0.95 ** e), "sgd"),
    "step": (lambda o: S.StepLR(o, step_size=7, gamma=0.5), "sgd"),
    "multistep": (lambda o: S.MultiStepLR(o, [10, 25, 25, 40], gamma=0.3), "sgd"),
    "exponential": (lambda o: S.ExponentialLR(o, 0.93), "sgd"),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001), "sgd"),
    "warm_restarts": (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01), "sgd"),
    "linear": (lambda o: S.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=10), "sgd"),
    "onecycle": (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=61), "sgd_momentum"),
    "onecycle_adam_linear_three_phase": (lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=61, anneal_strategy="linear",
                                                                three_phase=True, pct_start=0.25), "adam"),
    "plateau": (lambda o: S.ReduceLROnPlateau(o, patience=3, factor=0.5, cooldown=2), "sgd"),
    "sequential": (lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                S.CosineAnnealingLR(o, T_max=30)], milestones=[5]), "sgd"),
    "noam": (lambda o: S.LambdaLR(o, noam), "sgd_lr1"),
    "warmup_cosine": (lambda o: S.LambdaLR(o, warmup_cosine), "sgd"),
}


def schedule_fixtures():
    metrics = np.concatenate([np.linspace(1.0, 0.5, 15), np.full(20, 0.5), np.linspace(0.5, 0.45, 5), np.full(20, 0.45)])
    d = os.path.join(OUT, "schedules")
    os.makedirs(d)
    np.save(os.path.join(d, "plateau_metrics.npy"), metrics)
    for name, (make, optname) in SCHEDULES.items():
        p = torch.zeros(2, requires_grad=True)
        if optname == "adam":
            opt = O.Adam([p], lr=0.01)
        elif optname == "sgd_momentum":
            opt = O.SGD([p], lr=0.1, momentum=0.9)
        elif optname == "sgd_lr1":
            opt = O.SGD([p], lr=1.0)
        else:
            opt = O.SGD([p], lr=0.1)
        sched = make(opt)
        lrs, moms = [opt.param_groups[0]["lr"]], []
        mom = lambda: opt.param_groups[0]["betas"][0] if "betas" in opt.param_groups[0] else opt.param_groups[0]["momentum"]
        moms.append(mom())
        for step in range(60):
            opt.step()
            if name == "plateau":
                sched.step(metrics[step])
            else:
                sched.step()
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(mom())
        np.save(os.path.join(d, f"{name}_lr.npy"), np.array(lrs))
        np.save(os.path.join(d, f"{name}_momentum.npy"), np.array(moms))


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    optimizer_fixtures()
    schedule_fixtures()
    print(f"wrote optim fixtures to {OUT}")
