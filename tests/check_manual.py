#!/usr/bin/env python3
"""Checks that the manual names what the product reads.

usage: check_manual.py SOURCE_ROOT

Every environment variable the product's C sources read (getenv("NAME"),
the pairs of launch_env in runtime/dist.c, and the selectors' overrides,
measure_forced("NAME", ...) in runtime/) must have an entry in the
ENVIRONMENT section of docs/qsdc.1, and every op of the model parser's
op_names table (compiler/model_parse.c) must be named in qsdc(1)'s MODEL
FILES section and have a row in docs/model-format.md's table of ops.
"""
import pathlib
import re
import sys

PRODUCT = ["base", "compiler", "runtime", "session", "lab", "cli"]


def section(man, name):
    m = re.search(r"^\.SH " + name + r"\n(.*?)(?=^\.SH )", man, re.S | re.M)
    if not m:
        sys.exit(f"docs/qsdc.1: no {name} section")
    # roff font escapes (\fB, \fR, \fP) and hyphens (\-) read as plain text
    return re.sub(r"\\f[BIRP]", "", m.group(1)).replace("\\-", "-")


def main(root):
    root = pathlib.Path(root)
    variables = set()
    for folder in PRODUCT:
        for path in (root / folder).glob("*.c"):
            text = path.read_text(encoding="utf-8")
            variables |= set(re.findall(r'\b(?:getenv|measure_forced)\("([A-Z0-9_]+)"', text))
            for pair in re.findall(r'\blaunch_env\("([A-Z0-9_]+)", "([A-Z0-9_]+)"', text):
                variables |= set(pair)
    parser = (root / "compiler/model_parse.c").read_text(encoding="utf-8")
    table = re.search(r"op_names\[[^]]*\] = \{(.*?)\};", parser, re.S)
    ops = set(re.findall(r'= "([a-z0-9_]+)"', table.group(1))) if table else set()
    if len(variables) < 5 or len(ops) < 10:
        sys.exit(f"found only {sorted(variables)} and {sorted(ops)}: is the scan still right?")
    man = (root / "docs/qsdc.1").read_text(encoding="utf-8")
    environment, model_files = section(man, "ENVIRONMENT"), section(man, "MODEL FILES")
    fmt = (root / "docs/model-format.md").read_text(encoding="utf-8")
    missing = [f"docs/qsdc.1 ENVIRONMENT: no {v}" for v in sorted(variables)
               if not re.search(r"^\.B .*\b" + v + r"\b", environment, re.M)]
    missing += [f"docs/qsdc.1 MODEL FILES: no op {op}" for op in sorted(ops)
                if not re.search(r"\b" + op + r"\b", model_files)]
    missing += [f"docs/model-format.md: no row for op {op}" for op in sorted(ops)
                if not re.search(r"^\|[^|\n]*`" + op + r"`", fmt, re.M)]
    for line in missing:
        print(line)
    print(f"{len(variables)} environment variables, {len(ops)} ops checked")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
