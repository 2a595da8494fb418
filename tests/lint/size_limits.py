#!/usr/bin/env python3
"""Size limits of issue 12, checked on every run: no C++ source file over 600
lines unless its header comment gives the reason (a line containing
"size-limit:"), no function body over 120 lines unless the function is marked
(a "size-limit:" comment on one of the 3 lines above it: the feature math), and
ops/main.cc under 150 lines.

Functions are found by brace matching: a block whose opening line ends a
signature (`) {`, `) const {`, `) override {`, ...) and is not a control
statement or a lambda. Good enough for this tree's Google-style code; a false
positive is fixed by splitting the function, which is the point anyway.

Usage: size_limits.py [REPO]   (exit 1 and a list of offenders on failure)
"""
import os
import re
import subprocess
import sys

MAX_FILE = 600
MAX_FUNCTION = 120
MAX_MAIN = 150
CONTROL = re.compile(r"^\s*(\}\s*)?(if|for|while|switch|catch|else|do)\b")
SIGNATURE_END = re.compile(r"\)\s*(const)?\s*(noexcept)?\s*(override|final)?\s*(->\s*[\w:<>,\s*&]+)?\s*\{\s*$")


def strip(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//", 1)[0]


def functions(lines):
    """Yields (start_line, length, signature) of function bodies."""
    depth = 0
    stack = []  # (depth at open, start index, is_function)
    for i, raw in enumerate(lines):
        line = strip(raw)
        for j, ch in enumerate(line):
            if ch == "{":
                head = line[: j + 1]
                is_fn = bool(SIGNATURE_END.search(head)) and not CONTROL.match(head) and "[" not in head.split("(")[0] \
                    and "](" not in head and not any(s[2] for s in stack)
                stack.append((depth, i, is_fn))
                depth += 1
            elif ch == "}":
                depth -= 1
                if stack:
                    _, start, is_fn = stack.pop()
                    if is_fn:
                        yield start, i - start + 1, lines[start].strip()


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    files = subprocess.run(["git", "-C", repo, "ls-files", "*.cc", "*.h"], capture_output=True, text=True,
                           check=True).stdout.split()
    problems = []
    for f in files:
        path = os.path.join(repo, f)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        n = len(lines) - (1 if lines and lines[-1] == "" else 0)
        head = "\n".join(lines[:30])
        if f == "ops/main.cc" and n >= MAX_MAIN:
            problems.append(f"{f}: {n} lines (a dispatcher stays under {MAX_MAIN})")
        if n > MAX_FILE and "size-limit:" not in head and not f.startswith("tests/"):
            problems.append(f"{f}: {n} lines, over {MAX_FILE} with no 'size-limit:' reason at its top")
        for start, length, sig in functions(lines):
            if length <= MAX_FUNCTION or f.startswith("tests/"):
                continue
            marked = any("size-limit:" in lines[k] for k in range(max(0, start - 3), start + 1))
            if not marked:
                problems.append(f"{f}:{start + 1}: function of {length} lines (over {MAX_FUNCTION}): {sig[:80]}")
    for p in problems:
        print(p)
    print(f"size_limits: {len(files)} files checked, {len(problems)} over the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
