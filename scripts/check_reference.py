#!/usr/bin/env python3
"""Checks docs/reference.md against the public headers, both ways: every public name declared at
namespace scope (functions, classes, structs, enums, modules made by XG_MODULE, constants) and every
Tensor method must appear in the reference as `name`; every name the reference's tables list in
their first column must exist in the headers. Run by ctest (reference_matches_headers); with
--list it prints the names it found."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_DIRS = ["include", "autograd/include", "nn/include", "optim/include", "distributed/include"]

DECL = re.compile(
    r"^(?:template <[^>]*>\s*)?(?:inline\s+|constexpr\s+|static\s+)*"
    r"(?:[\w:]+(?:<[^;()]*>)?[\s\*&]+)+?(?:operator\S+|(\w+))\s*\(")
TYPE = re.compile(r"^(?:template <[^>]*>\s*)?(?:class|struct|enum class|enum)\s+(?:alignas\(\d+\)\s+)?(\w+)\b(?!;)")
USING = re.compile(r"^using (\w+) = ")
CONST = re.compile(r"^inline constexpr [\w:<>]+ (\w+)\b")
MODULE = re.compile(r"^XG_(?:MODULE|POINTWISE_LOSS|OPTIMIZER)\((\w+)")
METHOD = re.compile(r"^  (?:[\w:<>,\s\*&]+?)\s+(\w+)\(.*\)\s*(?:const)?\s*[;{]")


def header_names():
    names, methods = set(), set()
    for d in HEADER_DIRS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if not f.endswith(".hpp"):
                    continue
                depth_detail, in_tensor = 0, False
                for line in open(os.path.join(dirpath, f), encoding="utf-8"):
                    line = re.sub(r"^\[\[\w+\]\] ", "", line)  # [[noreturn]] void f(...)
                    if re.match(r"^namespace [\w:]*detail \{", line):
                        depth_detail += 1
                    elif depth_detail and re.match(r"^\}\s*// namespace [\w:]*detail", line):
                        depth_detail -= 1
                        continue
                    if depth_detail or line.startswith("#define") or line.lstrip().startswith("//"):
                        continue
                    if line.startswith("class Tensor {"):
                        in_tensor = True
                        continue
                    if in_tensor and line.startswith("};"):
                        in_tensor = False
                    if in_tensor:
                        m = METHOD.match(line)
                        if m and m.group(1) not in ("operator", "shp") and not m.group(1).startswith("_"):
                            methods.add(m.group(1))
                        continue
                    for rx in (TYPE, USING, CONST, MODULE):
                        m = rx.match(line)
                        if m:
                            names.add(m.group(1))
                    m = re.match(r"^decltype\(auto\) (\w+)\(", line)
                    if m:
                        names.add(m.group(1))
                    m = DECL.match(line)
                    if m and m.group(1) and not line.startswith(" "):
                        names.add(m.group(1))
    drop = {"XG_CHECK", "XG_ARG", "XG_MODULE", "value_of", "alignas", "if", "for", "while", "return", "switch"}
    return {n for n in names if n not in drop and not n.startswith("_") or n.startswith("_softmax") or
            n.startswith("_log_softmax") or n.startswith("_scaled_dot") or n.startswith("_packed_multi_head")}, methods


def main():
    names, methods = header_names()
    if "--list" in sys.argv:
        print("\n".join(sorted(names)))
        print("-- Tensor methods:", " ".join(sorted(methods)))
        return 0
    ref = open(os.path.join(ROOT, "docs", "reference.md"), encoding="utf-8").read()
    quoted = set(re.findall(r"`([^`]+)`", ref))
    words = set()
    for q in quoted:
        words.update(re.findall(r"[A-Za-z_]\w*", q))
    missing = sorted(n for n in names if n not in words)
    missing_methods = sorted(m for m in methods if m not in words)
    # first column of every table row: `name` entries must exist
    listed, xgrad_table = set(), False
    for line in ref.splitlines():
        if line.startswith("| ") and not line.startswith("| `"):
            xgrad_table = line.startswith("| xgrad |")  # a table's header row
        if xgrad_table and line.startswith("| `"):
            for q in re.findall(r"`([^`]+)`", line.split("|")[1]):
                listed.update(re.findall(r"[A-Za-z_]\w*", q.split("(")[0]))
    known = names | methods | {"xg", "xgrad", "nn", "optim", "data", "datasets", "samplers", "transforms",
                               "indexing", "torch", "Tensor", "Impl", "Options", "kFloat", "kDouble", "kLong", "T", "x"}
    stale = sorted(n for n in listed if n not in known)
    ok = True
    if missing:
        ok = False
        print("docs/reference.md lacks these public names:", ", ".join(missing))
    if missing_methods:
        ok = False
        print("docs/reference.md lacks these Tensor methods:", ", ".join(missing_methods))
    if stale:
        ok = False
        print("docs/reference.md lists names no header declares:", ", ".join(stale))
    if ok:
        print(f"docs/reference.md covers {len(names)} public names and {len(methods)} Tensor methods")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
