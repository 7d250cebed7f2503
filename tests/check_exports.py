#!/usr/bin/env python3
"""Checks the export list of libqsdc.so against include/qsdc.h.

usage: check_exports.py NM LIBQSDC.so QSDC.h

Every symbol the shared library defines in its dynamic symbol table
(nm -D --defined-only) must start with qsdc_ and be a function the header
declares with QSDC_API; every function the header declares must carry
QSDC_API and be exported: the library is built with -fvisibility=hidden
and the header's QSDC_API marks what a program linking it may call.
"""
import re
import subprocess
import sys


def declared(header_path):
    with open(header_path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)  # comments mention names too
    names = set(re.findall(r"\bQSDC_API\b[^;{]*?\b(qsdc_\w+)\s*\(", text))
    if not names:
        sys.exit(f"{header_path}: no QSDC_API declarations found")
    # every function the header declares is public: one without the mark
    # would link in a test (static library) and not in a program
    unmarked = set(re.findall(r"\b(qsdc_\w+)\s*\(", text)) - names
    for name in sorted(unmarked):
        print(f"{header_path}: {name} is declared without QSDC_API")
    return names, bool(unmarked)


def exported(nm, lib_path):
    out = subprocess.run([nm, "-D", "--defined-only", lib_path], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms[parts[2].split("@")[0]] = parts[1]
    if not syms:
        sys.exit(f"{lib_path}: nm -D found no defined symbols")
    return syms


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    nm, lib_path, header_path = sys.argv[1:]
    api, unmarked = declared(header_path)
    syms = exported(nm, lib_path)
    problems = ["functions declared without QSDC_API"] if unmarked else []
    for name, kind in sorted(syms.items()):
        if not name.startswith("qsdc_"):
            problems.append(f"exported without the qsdc_ prefix: {name} ({kind})")
        elif name not in api:
            problems.append(f"exported but not declared QSDC_API in the header: {name}")
        elif kind not in ("T", "W"):
            problems.append(f"{name}: exported as {kind}, not a function")
    for name in sorted(api - syms.keys()):
        problems.append(f"declared QSDC_API but not exported: {name}")
    for p in problems:
        print(f"{lib_path}: {p}")
    if problems:
        return 1
    print(f"{lib_path}: exports the {len(api)} QSDC_API functions of {header_path}, "
          f"nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
