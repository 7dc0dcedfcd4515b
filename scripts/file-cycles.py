#!/usr/bin/env python3
"""Counts the file cycles of a folder's C files: file A depends on file B
when A's object refers to a function or object B's defines (nm), or when
A.c or A.h includes B.h (the header of B.c, or of B alone).  Prints each
strongly connected component of more than one file and the count.

usage: file-cycles.py BUILD_DIR SRC_SUBDIR   (e.g. build src/server)"""
import glob
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def includes(path, sub):
    """The names (without .h) of sub's headers that path includes."""
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        text = f.read()
    prefix = sub.split("/", 1)[1] + "/"
    return {m[len(prefix):] for m in INCLUDE.findall(text) if m.startswith(prefix)}


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def main():
    build, sub = sys.argv[1], sys.argv[2]
    tag = "src_" + sub.split("/", 1)[1].replace("/", "_") + "_"
    objs = {}
    for obj in glob.glob(os.path.join(build, "*.p", tag + "*.c.o")):
        name = os.path.basename(obj)[len(tag):-len(".c.o")] + ".c"
        objs[name] = symbols(obj)
    if not objs:
        sys.exit("file-cycles: no objects for %s under %s" % (sub, build))
    owner = {s: f for f, (d, _) in objs.items() for s in d}
    edges = {f: {owner[s] for s in u if s in owner and owner[s] != f}
             for f, (_, u) in objs.items()}
    # Headers: a header of its own counts as its file (B.h is B.c's); a
    # header without a .c (a shared type) is a node of its own.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, sub)
    for h in glob.glob(os.path.join(folder, "*.h")):
        name = os.path.basename(h)[:-2] + ".c"
        edges.setdefault(name, set())
    for f in list(edges):
        base = f[:-2]
        for inc in includes(os.path.join(folder, base + ".c"), sub) | \
                includes(os.path.join(folder, base + ".h"), sub):
            if inc + ".c" != f:
                edges[f].add(inc + ".c")
                edges.setdefault(inc + ".c", set())
    # Tarjan's strongly connected components.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(objs):
        if v not in index:
            visit(v)
    for c in comps:
        print("cycle: " + " ".join(c))
    print("%d file cycles among %d files in %s" % (len(comps), len(edges), sub))
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
