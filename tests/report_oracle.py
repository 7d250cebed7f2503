#!/usr/bin/env python3
"""Checks the numbers of a report.md against the result.json files it was
written from, recomputed here without qsdc's code:

    tests/report_oracle.py RESULTS_DIR REPORT_MD
    tests/report_oracle.py --family RESULTS_DIR... FAMILY_MD

Means and sample standard deviations come from Python's statistics module
(exact rational arithmetic); Student's t distribution from the closed forms
for integer degrees of freedom (Abramowitz and Stegun 26.7.3 and 26.7.4),
not from the incomplete beta function lab/stats.c uses, and checked
here against the textbook table of t(0.975, df) before anything else. Each
printed number must lie within half a unit of its last printed digit of
the value computed here; every table row and verdict sentence the report
should hold must be there, in order, and no other. Prints each mismatch;
exits 1 if there is one.

With a plan.json in RESULTS_DIR, the primary contrasts' table is checked
too: Holm's step-down adjustment and the two one-sided tests (TOST) of
equivalence within the plan's margin are computed here from their
definitions (Holm 1979; Schuirmann 1987) on the same closed-form t, and
each verdict from them (interim while fewer seeds pair than the plan's);
with the plan's sparsity margin, so are the Hoyer comparisons' TOSTs.
With --family, the table that qsdc report
--family wrote from several directories is checked the same way, Holm's
adjustment taken over all their plans' contrasts together. A setting that
swept strengths has its choice made again here, per seed, from its
candidates' own result.json files.
"""
import glob
import json
import math
import os
import re
import statistics
import sys
from decimal import Decimal, InvalidOperation


def t_central(t, df):
    """P(|T| < t) for Student's t with integer df (A&S 26.7.3, 26.7.4)."""
    th = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(th), math.cos(th)
    if df % 2 == 0:
        term = total = 1.0
        for k in range(2, df, 2):
            term *= c * c * (k - 1) / k
            total += term
        return s * total
    if df == 1:
        return 2 * th / math.pi
    term = total = c
    for k in range(3, df, 2):
        term *= c * c * (k - 1) / k
        total += term
    return 2 / math.pi * (th + s * total)


def t_p(t, df):
    """Two-sided p of t."""
    return 1.0 - t_central(t, df)


def t_975(df):
    """t(0.975, df): the t with P(|T| < t) = 0.95, by bisection."""
    lo, hi = 0.0, 1000.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_central(mid, df) < 0.95 else (lo, mid)
    return (lo + hi) / 2


# t(0.975, df) as printed in every statistics textbook (Fisher and Yates)
TEXTBOOK = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228,
            19: 2.093, 30: 2.042}
for _df, _q in TEXTBOOK.items():
    assert abs(t_975(_df) - _q) < 5e-4, f"the oracle's t({_df}) is {t_975(_df)}, not {_q}"
    assert abs(t_p(_q, _df) - 0.05) < 1e-4


def t_cdf(t, df):
    """P(T < t)."""
    c = t_central(t, df)
    return 0.5 + c / 2 if t >= 0 else 0.5 - c / 2


def holm(ps):
    """Holm's adjusted p-values; None (no test) counts as p = 1 and stays None."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: 1.0 if ps[i] is None else ps[i])
    adj, running = [None] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * (1.0 if ps[i] is None else ps[i])))
        adj[i] = None if ps[i] is None else running
    return adj


# Holm on a worked family: sorted .005 .01 .03 .04 times 4 3 2 1, kept monotone
assert [round(x, 12) for x in holm([0.01, 0.04, 0.03, 0.005])] == [0.03, 0.06, 0.06, 0.02]


class Check:
    def __init__(self):
        self.errors = []

    def fail(self, msg):
        self.errors.append(msg)

    def near(self, text, value, what, digits=None):
        """text, as printed, is value to within half a unit of its last
        digit (and has at least digits decimals)."""
        try:
            d = Decimal(text)
        except InvalidOperation:
            self.fail(f"{what}: '{text}' is not a number (want {value:.6g})")
            return
        unit = 10.0 ** d.as_tuple().exponent
        if digits is not None and unit > 10.0 ** -digits * 1.0001:
            self.fail(f"{what}: '{text}' has fewer than {digits} decimals")
        if not abs(float(d) - value) <= unit / 2 * (1 + 1e-9) + 1e-12 * abs(value):
            self.fail(f"{what}: report says {text}, recomputed {value:.6g}")

    def p_value(self, text, p, what):
        if text == "< 0.001":
            if not p < 0.001:
                self.fail(f"{what}: report says p < 0.001, recomputed p = {p:.6g}")
        elif text == "0.050":
            self.fail(f"{what}: p printed as 0.050 hides its side of 0.05 ({p:.6g})")
        else:
            self.near(text, p, what + " p")

    def same(self, got, want, what):
        if got != want:
            self.fail(f"{what}: report has {got}, want {want}")


def describe(r):
    q, sel = r["qsd"], r.get("selection")
    p = "" if sel else f" p={q['p']:.4g}"
    chosen = f", {sel['swept']} chosen on validation" if sel else ""
    if r["kind"] == "none":
        return "none"
    if r["kind"] == "dropout":
        return f"dropout{p}{chosen}"
    s = f"QSD{p} n={q['sites']} v={q['q_cv']:.4g}"
    if q["p_concentration"] > 0:
        s += f" c={q['p_concentration']:.4g}"
    if q.get("hetero") == "unit":
        s += " unit"
    if q.get("anneal", 0) > 0:
        s += f" s={q['anneal']:.4g}"
    if r["match"] != "explicit":
        s += f" (matched {r['match']})"
    return s + chosen


def load(results):
    runs = []
    for path in sorted(glob.glob(os.path.join(results, "*", "result.json"))):
        with open(path, encoding="utf-8") as f:
            runs.append(json.load(f))
    names = {r["experiment"] for r in runs}
    if len(names) != 1:
        sys.exit(f"{results}: one experiment expected, found {sorted(names)}")
    settings = {}
    for r in sorted(runs, key=lambda r: (r["setting_index"], r["setting"], r["seed"])):
        settings.setdefault(r["setting"], []).append(r)
    return runs, list(settings.values())


def sections(md):
    """{heading: [table rows as cell lists]} and {heading: text}."""
    tables, texts, head = {}, {}, None
    for line in md.splitlines():
        if line.startswith("#"):
            head = line.lstrip("#").strip()
            tables[head], texts[head] = [], ""
        elif head is not None:
            texts[head] += line + "\n"
            if line.startswith("|") and not line.startswith("|---"):
                tables[head].append([c.strip() for c in line.strip().strip("|").split("|")])
    # the header rows: the first row of each table
    for head, rows in tables.items():
        tables[head] = [r for r in rows
                        if r[0] not in ("setting", "comparison", "tensor", "contrast")]
    return tables, texts


class Comparison:
    """a − b paired by seed on one measure."""

    def __init__(self, a, b, value, layer=None):
        by_seed = {r["seed"]: value(r) for r in b}
        d = [value(r) - by_seed[r["seed"]] for r in a if r["seed"] in by_seed]
        self.a, self.b, self.layer, self.n = a[0]["setting"], b[0]["setting"], layer, len(d)
        self.mean = statistics.mean(d)
        self.sd = statistics.stdev(d)
        se = self.sd / math.sqrt(self.n)
        self.df = self.n - 1
        self.t = self.mean / se
        self.p = t_p(self.t, self.df)
        half = t_975(self.df) * se
        self.lo, self.hi = self.mean - half, self.mean + half

    def check_numbers(self, c, what, digits, n, diff, lo, hi, t, df, p, diff_value=None):
        c.same(n, str(self.n), what + " seeds")
        c.near(diff, self.mean if diff_value is None else diff_value, what + " difference",
               digits)
        c.near(lo, self.lo, what + " interval low")
        c.near(hi, self.hi, what + " interval high")
        c.near(t, self.t, what + " t", 2)
        c.same(df, str(self.df), what + " df")
        c.p_value(p, self.p, what)

    def check_row(self, c, cells, what, digits):
        n, diff, interval, t, df, p = cells
        lo, _, hi = interval.partition(" to ")
        self.check_numbers(c, what, digits, n, diff, lo, hi, t, df, p)


def paired(a, b, value, layer=None):
    """a − b as a Comparison where two or more seeds pair, else Untested."""
    n = len({r["seed"] for r in a} & {r["seed"] for r in b})
    return (Comparison(a, b, value, layer) if n >= 2
            else Untested(a[0]["setting"], b[0]["setting"], n, layer))


SENTENCE = re.compile(r"(\S+)(?: points)? \(95% interval (\S+) to (\S+), paired t = (\S+), "
                      r"df = (\d+), p (?:= )?(< 0\.001|\S+), (\d+) seeds\)"
                      r"(?:; TOST within ±(\S+): p (?:= )?(< 0\.001|\S+), so \*\*(\w+)\*\*)?\.$")


def tost_p(k, margin):
    """The larger p of the two one-sided paired tests of |a − b| < margin."""
    se = k.sd / math.sqrt(k.n)
    return max(1 - t_cdf((k.mean + margin) / se, k.df), t_cdf((k.mean - margin) / se, k.df))


def check_verdicts(c, text, comparisons, task, what, digits, verb, margin=None):
    """One sentence per comparison: its verdict from p < 0.05 and the sign
    (verb(mean) names a significant one), its numbers the comparison's;
    with a margin, one without a significant difference ends in its TOST
    and whether that showed equivalence."""
    lines = [ln for ln in text.splitlines() if ln.startswith("- **")]
    untested = [k for k in comparisons if isinstance(k, Untested)]
    comparisons = [k for k in comparisons if not isinstance(k, Untested)]
    c.same(len(lines), len(comparisons), f"{task}: sentences on {what}")
    for k in untested:
        where = f" in {k.layer}" if k.layer else ""
        said = f"- {k.a} and {k.b} share {k.n} seed{'' if k.n == 1 else 's'}: no test of " \
               f"{what}{where} on {task}."
        c.same(text.splitlines().count(said), 1, f"{task}: the sentence '{said}'")
    for k in comparisons:
        where = f" in {k.layer}" if k.layer else ""
        significant = k.p < 0.05
        if significant:
            head = (f"- **{k.a} {verb(k.mean)} {k.b}**{where} on {task}: {what} "
                    f"{'higher' if k.mean > 0 else 'lower'} by ")
        else:
            head = (f"- **No significant difference** between {k.a} and {k.b}{where} on "
                    f"{task}: {what} differs by ")
        found = [ln[len(head):] for ln in lines if ln.startswith(head)]
        label = f"{task}: the sentence on {k.a} − {k.b}{where}"
        if len(found) != 1:
            c.fail(f"{label}: {len(found)} sentences begin '{head}' (p = {k.p:.4g})")
            continue
        m = SENTENCE.match(found[0])
        if not m:
            c.fail(f"{label}: cannot read '{found[0]}'")
            continue
        diff, lo, hi, t, df, p, n, t_margin, t_p, t_verdict = m.groups()
        k.check_numbers(c, label, digits, n, diff, lo, hi, t, df, p,
                        abs(k.mean) if significant else k.mean)
        if margin is None or significant:
            c.same(t_margin, None, label + " TOST")
            continue
        if t_margin is None:
            c.fail(f"{label}: no TOST within ±{margin} after a difference not shown")
            continue
        c.same(t_margin, f"{margin:.{digits}f}", label + " TOST margin")
        tp = tost_p(k, margin)
        c.p_value(t_p, tp, label + " TOST")
        c.same(t_verdict, "equivalent" if tp < 0.05 else "undetermined", label + " TOST verdict")


def of_kind(settings, kind):
    return [s for s in settings if s[0]["kind"] == kind]


def check_header(c, texts, runs, settings):
    first = settings[0][0]
    m = re.search(r"(\d+) runs of (\d+) settings \((quick|full) grid\): (\d+) epochs?, "
                  r"(\d+) training \w+(?: \(validation included\))?, (\d+) test",
                  texts.get(first["experiment"], ""))
    if not m:
        c.fail(f"no line 'N runs of M settings ...' under '## {first['experiment']}'")
        return
    c.same(m.groups(), (str(len(runs)), str(len(settings)),
                        "quick" if first["quick"] else "full", str(len(first["epochs"])),
                        str(first["train_samples"]), str(first["test_samples"])),
           "runs, settings, grid, epochs, samples")
    # the devices in the order their first runs come, each with its count
    # where there are several
    devices = {}
    for s in settings:
        for r in s:
            devices[r["device"]] = devices.get(r["device"], 0) + 1
    named = [d if len(devices) == 1 else f"{d} ({k} of the {len(runs)} runs)"
             for d, k in devices.items()]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    on = re.search(r" test \w+(?: \([^)]*\))?, on (.*)\.$",
                   texts.get(first["experiment"], "").split("\n\n")[0].strip())
    c.same(on.group(1) if on else None, listed, "devices")


def check_scores(c, tables, settings, metric):
    title, score = f"Test {metric}", f"test_{metric}"
    rows = tables.get(title, [])
    c.same([r[0] for r in rows], [s[0]["setting"] for s in settings], f"{title} rows")
    for row, s in zip(rows, settings):
        what = f"{title}, {row[0]}"
        if len(row) != 6:
            c.fail(f"{what}: {len(row)} columns, not 6")
            continue
        c.same(row[1], describe(s[0]), what + " regulariser")
        c.same(row[2], str(len(s)), what + " seeds")
        mean, _, sd = row[3].partition(" ± ")
        v = [r[score] for r in s]
        c.near(mean, statistics.mean(v), what + " mean", 2)
        if len(v) > 1:
            c.near(sd, statistics.stdev(v), what + " sd", 2)
        else:
            c.same(sd, "", what + " sd of one run")
        c.near(row[4], statistics.mean(r["epochs"][-1]["train_loss"] for r in s),
               what + " final train loss", 4)
        c.near(row[5], statistics.mean(r["train_seconds"] for r in s), what + " s/run")


def check_comparisons(c, tables, texts, settings, metric, margin):
    """QSD against dropout, then every regularised setting against none."""
    task, score = settings[0][0]["experiment"], f"test_{metric}"

    def verb(mean):
        # perplexity: the lower is the better model
        return "beat" if (mean < 0) == (metric == "perplexity") else "did worse than"

    for title, against, which in (
            ("QSD against dropout", "dropout", of_kind(settings, "qsd")),
            ("Against no regularisation", "none",
             [s for s in settings if s[0]["kind"] != "none"])):
        comps = [paired(a, b, lambda r: r[score])
                 for b in of_kind(settings, against) for a in which]
        rows = tables.get(title, [])
        c.same([r[0] for r in rows], [f"{k.a} − {k.b}" for k in comps], f"{title} rows")
        for row, k in zip(rows, comps):
            k.check_row(c, row[1:], f"{title}, {row[0]}", 2)
        check_verdicts(c, texts.get(title, ""), comps, task, f"test {metric}", 2, verb, margin)


def check_sparsity(c, tables, texts, settings, margin):
    title = "Sparsity of hidden activity on the test set"
    layers = [a["layer"] for a in settings[0][0]["activity"]]
    if not layers:
        if "Not measured: " not in texts.get(title, ""):
            c.fail(f"{title}: no activity recorded, and no 'Not measured' note")
        return
    rows = [r for r in tables.get(title, []) if len(r) == 4]
    want = [(s, layer) for s in settings for layer in layers]
    c.same([tuple(r[:2]) for r in rows], [(s[0]["setting"], layer) for s, layer in want],
           f"{title} rows")
    for row, (s, layer) in zip(rows, want):
        for col, key in ((2, "zero_fraction"), (3, "hoyer")):
            v = [a[key] for r in s for a in r["activity"] if a["layer"] == layer]
            mean, _, sd = row[col].partition(" ± ")
            c.near(mean, statistics.mean(v), f"{title}, {row[0]} {layer} {key} mean", 4)
            if len(v) < 2:  # one seed: no sd
                c.same(sd, "", f"{title}, {row[0]} {layer} {key} sd")
            else:
                c.near(sd, statistics.stdev(v), f"{title}, {row[0]} {layer} {key} sd", 4)

    def hoyer(layer):
        return lambda r: next(a["hoyer"] for a in r["activity"] if a["layer"] == layer)

    comps = [paired(a, b, hoyer(layer), layer) for b in of_kind(settings, "dropout")
             for a in of_kind(settings, "qsd") for layer in layers]
    rows = [r for r in tables.get(title, []) if len(r) == 8]
    c.same([tuple(r[:2]) for r in rows], [(f"{k.a} − {k.b}", k.layer) for k in comps],
           "Hoyer sparsity rows")
    for row, k in zip(rows, comps):
        k.check_row(c, row[2:], f"Hoyer sparsity, {row[0]} {row[1]}", 4)
    check_verdicts(c, texts.get(title, ""), comps, settings[0][0]["experiment"],
                   "Hoyer sparsity", 4,
                   lambda mean: f"gave {'sparser' if mean > 0 else 'denser'} activity than",
                   margin)


def check_params(c, tables, settings):
    title = "Trained weights and biases"
    rows = tables.get(title, [])
    want = [(p["tensor"], s) for p in settings[0][0]["parameters"] for s in settings]
    c.same([tuple(r[:2]) for r in rows], [(t, s[0]["setting"]) for t, s in want],
           f"{title} rows")
    for row, (tensor, s) in zip(rows, want):
        ps = [p for r in s for p in r["parameters"] if p["tensor"] == tensor]
        cols = [[p["mean"] for p in ps], [p["sd"] for p in ps]]
        cols += [[p["quantiles"][q] for p in ps] for q in range(7)]
        for k, (text, v) in enumerate(zip(row[2:], cols)):
            c.near(text, statistics.mean(v), f"{title}, {tensor} {row[1]} column {k + 3}")


def check_masks(c, tables, settings):
    """Each layer's draws pooled over seeds, and its expected values alike
    (each seed's own strength)."""
    title = "Masks sampled on the device"
    rows = tables.get(title, [])
    want = [(s, m["layer"]) for s in settings for m in s[0]["masks"]]
    c.same([tuple(r[:2]) for r in rows], [(s[0]["setting"], layer) for s, layer in want],
           f"{title} rows")
    for row, (s, layer) in zip(rows, want):
        ms = [m for r in s for m in r["masks"] if m["layer"] == layer]
        draws = sum(m["draws"] for m in ms)
        what = f"{title}, {row[0]} {layer}"
        c.same(row[2], str(draws), what + " draws")
        for col, key in ((3, "mean"), (4, "var"), (6, "pr_zero")):
            c.near(row[col], sum(m[key] * m["draws"] for m in ms) / draws, f"{what} {key}", 4)
        for col, key in ((5, "var"), (7, "pr_zero")):
            c.near(row[col], sum(m["expected"][key] * m["draws"] for m in ms) / draws,
                   f"{what} expected {key}", 4)


def check_selection(c, tables, results, settings, metric):
    """Each swept setting's choice per seed, made again here from its
    candidates' own result.json files: the best validation score after
    the last epoch (highest accuracy, lowest perplexity, the first listed
    on a tie); the setting's run must be the chosen candidate's."""
    title, val, score = "Strengths chosen on validation", f"val_{metric}", f"test_{metric}"
    rows = tables.get(title, [])
    want = [r for s in settings for r in s if "selection" in r]
    c.same([tuple(row[:2]) for row in rows], [(r["setting"], str(r["seed"])) for r in want],
           f"{title} rows")
    for row, r in zip(rows, want):
        what = f"{title}, {r['setting']} seed {r['seed']}"
        sel = r["selection"]
        cands = []
        for cand in sel["candidates"]:
            path = os.path.join(results, f"{r['setting']}-seed{r['seed']}",
                                f"{sel['swept']}{cand['strength']:.6g}", "result.json")
            with open(path, encoding="utf-8") as f:
                cands.append(json.load(f))
        vals = [x["epochs"][-1][val] for x in cands]
        best = 0
        for i, v in enumerate(vals):
            if (v < vals[best]) if metric == "perplexity" else (v > vals[best]):
                best = i
        if len(row) != 5:
            c.fail(f"{what}: {len(row)} columns, not 5")
            continue
        c.same(row[2], sel["swept"], what + " swept")
        c.same(row[3], f"{sel['candidates'][best]['strength']:.6g}", what + " chosen")
        c.same(r[score], cands[best][score], what + " test score of the chosen candidate")
        c.same(r["qsd"], cands[best]["qsd"], what + " parameters of the chosen candidate")
        cells = row[4].split(", ")
        c.same(len(cells), len(vals), what + " candidates")
        for cell, cand, v in zip(cells, sel["candidates"], vals):
            strength, _, printed = cell.partition(": ")
            c.same(strength, f"{cand['strength']:.6g}", what + " strength")
            c.near(printed, v, f"{what} validation score of {strength}", 2)


class Untested:
    """A contrast without a test: fewer than two seeds pair (a grid still
    running, or a setting with no finished run yet). It counts in the
    family as p = 1; its table row says n/a."""

    def __init__(self, a, b, n, layer=None):
        self.a, self.b, self.n, self.p, self.layer = a, b, n, None, layer

    def check_row(self, c, cells, what, digits):
        c.same(cells, [str(self.n)] + ["n/a"] * 5, what + " (untested)")


def primary_comparisons(settings, metric, plan, task):
    """The plan's contrasts as (task, comparison, margin, metric, planned
    seeds)."""
    score = f"test_{metric}"
    by_name = {s[0]["setting"]: s for s in settings}
    out = []
    for a, b in (tuple(x.split(" vs ")) for x in plan["primary"]):
        seeds_a = {r["seed"] for r in by_name.get(a, [])}
        n = len(seeds_a & {r["seed"] for r in by_name.get(b, [])})
        k = (Comparison(by_name[a], by_name[b], lambda r: r[score]) if n >= 2
             else Untested(a, b, n))
        out.append((task, k, plan["equivalence_margin"], metric, plan["seeds"]))
    return out


def check_primary_rows(c, title, rows, entries, lead):
    """Rows of primary contrasts, each begun by `lead` cells (the task, in
    the family table) then "a − b": paired t, Holm across all the entries,
    TOST within each one's margin (Holm-adjusted too), and the verdict,
    interim while fewer seeds pair than the plan's."""
    alpha = 0.05
    c.same([r[lead:lead + 1] and r[lead] for r in rows],
           [f"{k.a} − {k.b}" for _, k, _, _, _ in entries], f"{title} rows")
    if lead:
        c.same([r[0] for r in rows], [e[0] for e in entries], f"{title} tasks")
    p_holm = holm([k.p for _, k, _, _, _ in entries])
    tost_holm = holm([None if k.p is None else tost_p(k, margin)
                      for _, k, margin, _, _ in entries])
    for row, (task, k, margin, metric, planned), ph, th in zip(rows, entries, p_holm,
                                                                tost_holm):
        what = f"{title}, {task}: {k.a} − {k.b}"
        if len(row) != 10 + lead:
            c.fail(f"{what}: {len(row)} columns, not {10 + lead}")
            continue
        row = row[lead:]
        if k.p is None:
            c.same(row[1:], [str(k.n)] + ["n/a"] * 7 + ["**undetermined**"], what)
            continue
        k.check_row(c, row[1:7], what, 2)
        c.p_value(row[7], ph, what + " Holm")
        c.p_value(row[8], th, what + " TOST")
        m = f"{margin:.2f}"
        if k.n < planned:
            want = f"**interim**: {k.n} of {planned} planned seeds"
        elif ph < alpha and k.mean != 0:
            better = (k.mean > 0) != (metric == "perplexity")
            want = f"**{k.a} {'beat' if better else 'did worse than'} {k.b}**"
            if th < alpha:
                want += f", within ±{m}"
        elif th < alpha:
            want = f"**equivalent** within ±{m}"
        else:
            want = "**undetermined**"
        c.same(row[9], want, what + " verdict")


def check_primary(c, tables, settings, metric, plan):
    """The plan's contrasts, one family."""
    title = "Primary contrasts"
    entries = primary_comparisons(settings, metric, plan, plan["experiment"])
    check_primary_rows(c, title, tables.get(title, []), entries, 0)


def check_family(dirs, report):
    """The primary contrasts of every directory's plan as one family."""
    entries = []
    for results in dirs:
        _, settings = load(results)
        with open(os.path.join(results, "plan.json"), encoding="utf-8") as f:
            plan = json.load(f)
        entries += primary_comparisons(settings, settings[0][0].get("metric", "accuracy"),
                                       plan, plan["experiment"])
    with open(report, encoding="utf-8") as f:
        tables, _ = sections(f.read())
    c = Check()
    title = "Primary contrasts across tasks"
    rows = [r for r in tables.get(title, []) if r[0] != "task"]
    check_primary_rows(c, title, rows, entries, 1)
    return c.errors


def check_report(results, report):
    runs, settings = load(results)
    with open(report, encoding="utf-8") as f:
        tables, texts = sections(f.read())
    metric = settings[0][0].get("metric", "accuracy")
    c = Check()
    check_header(c, texts, runs, settings)
    plan_path, margin, sparsity_margin = os.path.join(results, "plan.json"), None, None
    if os.path.exists(plan_path):
        with open(plan_path, encoding="utf-8") as f:
            plan = json.load(f)
        check_primary(c, tables, settings, metric, plan)
        margin = plan["equivalence_margin"]
        sparsity_margin = plan.get("sparsity_margin")
    elif "Primary contrasts" in tables:
        c.fail("a Primary contrasts section without a plan.json")
    check_scores(c, tables, settings, metric)
    check_selection(c, tables, results, settings, metric)
    check_comparisons(c, tables, texts, settings, metric, margin)
    check_sparsity(c, tables, texts, settings, sparsity_margin)
    check_params(c, tables, settings)
    check_masks(c, tables, settings)
    return c.errors


def main(argv):
    if len(argv) >= 4 and argv[1] == "--family":
        report, errors, source = argv[-1], check_family(argv[2:-1], argv[-1]), " ".join(argv[2:-1])
    elif len(argv) == 3:
        report, errors, source = argv[2], check_report(argv[1], argv[2]), argv[1]
    else:
        sys.exit(__doc__.split("\n\n")[1])
    for e in errors:
        print(f"{report}: {e}")
    if not errors:
        print(f"{report}: every number agrees with {source}/*/result.json")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
