#!/usr/bin/python3
"""Reads a checkpoint written by xgrad (tests/export_checkpoint) with numpy.load and checks the
names, shapes and dtypes PyTorch's state_dict() would have. Exits 77 (skipped) without numpy."""
import sys

try:
    import numpy as np
except ImportError:
    print("numpy not installed: skipped")
    sys.exit(77)

d = np.load(sys.argv[1])
expect = {
    "encoder.layers.0.self_attn.in_proj_weight": (24, 8),
    "encoder.layers.0.self_attn.in_proj_bias": (24,),
    "encoder.layers.0.self_attn.out_proj.weight": (8, 8),
    "encoder.layers.0.linear1.weight": (16, 8),
    "encoder.layers.0.norm1.weight": (8,),
    "encoder.norm.bias": (8,),
    "decoder.layers.0.multihead_attn.in_proj_weight": (24, 8),
    "decoder.layers.0.norm3.bias": (8,),
    "decoder.norm.weight": (8,),
}
for name, shape in expect.items():
    assert name in d.files, f"{name} missing from {sorted(d.files)}"
    assert d[name].shape == shape, f"{name}: {d[name].shape} != {shape}"
    assert d[name].dtype == np.float32, f"{name}: {d[name].dtype}"
assert len(d.files) == 34, len(d.files)
print(f"numpy read {len(d.files)} arrays with PyTorch's names and shapes")
