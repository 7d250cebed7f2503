#!/usr/bin/env python3
"""Summarises the last `meson test` run of each build directory given.

Prints one line per test program with its result and cmocka's own counts,
then cmocka's test cases over all directories, "cmocka: N passed, M failed,
K skipped" (a case that calls skip(), such as an MPI case on a build
without MPI, is no pass), and a closing line "tests: N passed, M failed,
K skipped" over the programs. Exits 1 when any test failed or a directory
ran no test.
"""
import json
import re
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
CMOCKA_RUN = re.compile(r"^\[=+\] (\d+) test\(s\) run\.$", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)
CMOCKA_SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) test\(s\)", re.M)


def cmocka_counts(output):
    """(run, failed, skipped) from cmocka's closing lines, or None without
    them; cmocka counts a skipped case as run."""
    run = CMOCKA_RUN.findall(output)
    if not run:
        return None
    failed = CMOCKA_FAILED.findall(output)
    skipped = CMOCKA_SKIPPED.findall(output)
    return sum(map(int, run)), sum(map(int, failed)), sum(map(int, skipped))


def main(dirs):
    passed = failed = skipped = 0
    cases_run = cases_failed = cases_skipped = 0
    for d in dirs:
        path = f"{d}/meson-logs/testlog.json"
        try:
            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
        except OSError as e:
            print(f"{d}: no test log ({e.strerror})")
            records = []
        if not records:
            print(f"{d}: no test ran")
            failed += 1
        for r in records:
            result = r["result"]
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
            else:
                failed += 1
            counts = cmocka_counts(r.get("stdout", "") + r.get("stderr", ""))
            detail = ""
            if counts:
                run, bad, skip = counts
                cases_run += run
                cases_failed += bad
                cases_skipped += skip
                detail = f"  cmocka: {run - bad - skip}/{run} passed"
                if skip:
                    detail += f", {skip} skipped"
            print(f"{d}: {r['name']:<20} {result:<8} {r['duration']:7.2f} s{detail}")
    print(f"cmocka: {cases_run - cases_failed - cases_skipped} passed, {cases_failed} failed, "
          f"{cases_skipped} skipped")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
