#!/usr/bin/env python3
"""safetensors interop with nothing but Python's struct and json: writes a file the way the format
specifies (F32, F64, I64, BOOL, BF16, F16), has xgrad read it (safetensors_tool read) and compares
the values; then has xgrad write one and parses it back here, checking header and data."""
import json
import os
import struct
import subprocess
import sys
import tempfile

tool = sys.argv[1]
tmp = tempfile.mkdtemp()


def write(path, tensors):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def bf16(x):
    return struct.pack("<I", struct.unpack("<I", struct.pack("<f", x))[0])[2:]


f32 = [0.5, -1.25, 3.0, 1e-3]
f64 = [1.0 / 3.0, -2.5e300]
i64 = [-(2 ** 62), 5]
boolean = [1, 0, 1]
f16 = [0.5, -65504.0, 2.0 ** -24]
b16 = [1.5, -0.0078125]
path = os.path.join(tmp, "py.safetensors")
write(path, [
    ("f32", "F32", [2, 2], struct.pack("<4f", *f32)),
    ("f64", "F64", [2], struct.pack("<2d", *f64)),
    ("i64", "I64", [2, 1], struct.pack("<2q", *i64)),
    ("bool", "BOOL", [3], bytes(boolean)),
    ("f16", "F16", [3], struct.pack("<3e", *f16)),
    ("bf16", "BF16", [2], b"".join(bf16(x) for x in b16)),
])
out = subprocess.run([tool, "read", path], check=True, capture_output=True, text=True).stdout.split("\n")
want = {"f32": ("Float32", f32), "f64": ("Float64", f64), "i64": ("Int64", i64), "bool": ("Bool", boolean),
        "f16": ("Float32", f16), "bf16": ("Float32", b16)}
seen = set()
for line in filter(None, out):
    name, dtype, rest = line.split(" ", 2)
    values = [float(v) for v in rest.split("]")[1].split()]
    wd, wv = want[name]
    assert dtype == wd, (name, dtype, wd)
    if name == "f32":
        wv = list(struct.unpack("<4f", struct.pack("<4f", *wv)))
    assert values == [float(v) for v in wv], (name, values, wv)
    seen.add(name)
assert seen == set(want), seen

path = os.path.join(tmp, "xg.safetensors")
subprocess.run([tool, "write", path], check=True)
with open(path, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
assert n % 8 == 0, n
assert header.pop("__metadata__") == {"format": "pt"}
fmt = {"F32": "f", "F64": "d", "I64": "q", "BOOL": "?"}
got = {}
end = 0
for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    b, en = e["data_offsets"]
    assert b == end, (name, b, end)
    end = en
    count = 1
    for s in e["shape"]:
        count *= s
    got[name] = (e["dtype"], e["shape"], list(struct.unpack("<%d%s" % (count, fmt[e["dtype"]]), data[b:en])))
assert end == len(data)
assert got["w"] == ("F32", [2, 3], [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]), got["w"]
assert got["d"] == ("F64", [2], [-1.5, 2.25]), got["d"]
assert got["i"] == ("I64", [3], [-3, 7, 2 ** 40]), got["i"]
assert got["b"] == ("BOOL", [3], [True, False, True]), got["b"]
print("safetensors interop with Python's struct/json: ok")
