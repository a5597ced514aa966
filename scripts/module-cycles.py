#!/usr/bin/env python3
"""Fails when a crate's top-level modules import each other in a loop.

Usage: scripts/module-cycles.py crates/roster-server/src crates/roster-store/src
A module is a file or folder directly under src/ (lib.rs, the root, is left
out); an edge A -> B is any `crate::B` path written in A.
"""
import re
import sys
from pathlib import Path


def modules(src: Path):
    found = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        if rel.parts == ("lib.rs",) or rel.parts == ("main.rs",):
            continue
        name = rel.parts[0].removesuffix(".rs")
        found.setdefault(name, []).append(path)
    return found


def edges(found):
    graph = {name: set() for name in found}
    pattern = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
    grouped = re.compile(r"\bcrate::\{([^}]*)\}")
    for name, paths in found.items():
        for path in paths:
            # Code only: a doc link to another module is not an import.
            text = "\n".join(
                line.split("//")[0] for line in path.read_text().splitlines()
            )
            targets = set(pattern.findall(text))
            for group in grouped.findall(text):
                targets.update(part.strip().split("::")[0] for part in group.split(","))
            graph[name].update(t for t in targets if t in graph and t != name)
    return graph


def cycles(graph):
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    failed = False
    for arg in sys.argv[1:]:
        found = cycles(edges(modules(Path(arg))))
        for loop in found:
            print(f"{arg}: modules import each other: {' <-> '.join(loop)}")
            failed = True
    if not failed:
        print("no import loops among modules")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
