#!/usr/bin/python3
"""code_shape.py SRC_DIR: the shape rules of docs/design.md ("Layout"), checked on the source:
  - no function in src/ is longer than 60 lines (signature to closing brace);
  - no two files of src/ use each other, directly or around a cycle (a file uses another when
    it calls a function that the other defines);
  - no choice word of the option table (src/train/options.c's *_words lists) is compared
    with strcmp/strncmp outside options.c: code reads the enums.
Prints each violation; exit 1 if any, and a closing 'N passed, N failed' line."""
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "src"
files = sorted(glob.glob(os.path.join(root, "**", "*.c"), recursive=True))
text = {f: open(f).read() for f in files}
failed = passed = 0


def report(ok, what):
    global failed, passed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


# 1. Function length: a body opens with "{" at column 0 (or at the end of a signature line at
# column 0) and closes with the next "}" at column 0; the signature may span several lines.
MAX_LINES = 60
for f in files:
    lines = text[f].split("\n")
    for i, line in enumerate(lines):
        opens_here = re.match(r"^[A-Za-z_].*\)\s*\{$", line) and "=" not in line
        if line != "{" and not opens_here:
            continue
        start = i
        while start > 0 and (lines[start] == "{" or lines[start].startswith((" ", "\t"))):
            start -= 1  # back to the signature's first line
        end = next((k for k in range(i + 1, len(lines)) if lines[k] == "}"), len(lines) - 1)
        n = end - start + 1
        report(n <= MAX_LINES, f"{f}:{start + 1}: {n} lines (limit {MAX_LINES}): {lines[start].strip()}")

# 2. Which file uses which: calls of functions defined (non-static) in another file.
defined = {}
for f in files:
    for m in re.finditer(r"^([A-Za-z_][\w \*]*?)\b(\w+)\s*\([^;{]*\)\s*\{", text[f], re.M):
        if not m.group(1).startswith("static"):
            defined.setdefault(m.group(2), f)
uses = {f: set() for f in files}
for f in files:
    for name, where in defined.items():
        if where != f and re.search(r"\b" + re.escape(name) + r"\s*\(", text[f]):
            uses[f].add(where)
state, cycle = {}, None


def visit(u, path):
    global cycle
    state[u] = 1
    path.append(u)
    for v in sorted(uses[u]):
        if cycle:
            return
        if state.get(v) == 1:
            cycle = path[path.index(v):] + [v]
        elif v not in state:
            visit(v, path)
    path.pop()
    state[u] = 2


for f in files:
    if f not in state and not cycle:
        visit(f, [])
report(cycle is None, "files that use each other: " + " -> ".join(cycle or []))

# 3. Choice words are compared only in the option table.
options_c = os.path.join(root, "train", "options.c")
words = set()
for m in re.finditer(r"_words\[\]\s*=\s*\{([^}]*)\}", text.get(options_c, "")):
    words.update(re.findall(r'"([^"]+)"', m.group(1)))
report(len(words) >= 5, f"found {len(words)} choice words in {options_c}")
for f in files:
    if f == options_c:
        continue
    for m in re.finditer(r"\bstrn?cmp\s*\(([^;]*)", text[f]):
        for w in re.findall(r'"([^"]+)"', m.group(1)):
            line = text[f].count("\n", 0, m.start()) + 1
            report(w not in words, f"{f}:{line}: compares the choice word '{w}' outside the option table")

print(f"code_shape.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
