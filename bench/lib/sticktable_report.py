#!/usr/bin/env python3
"""Markdown report for bench/sticktable.sh (arguments: see the call there)."""
import json
import statistics as st
import sys

(r1, r2, r3, raw, machine, parts, duration, runs, conns, fill_keys, fill_seconds,
 drill_seconds, quiet_seconds, abusive, polite, procs, bw_bin, netns_note, maxconn_note,
 load_start, load_end, ncpu, cfg1, cfg2, cfg3) = sys.argv[1:]
parts = parts.split()
PROXIES = ["HAProxy", "Breakwater"]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def f(v, nd=2):
    return "n/a" if v is None else f"{v:,.{nd}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def fx(v):
    return "n/a" if v is None else f"{v:.2f}x"


def pc(v, nd=1):
    return "n/a" if v is None else f"{100 * v:.{nd}f}%"


def med(vals):
    vals = [v for v in vals if v is not None]
    return st.median(vals) if vals else None


out = [f"machine: {machine}", ""]
out.append("# Stick tables and abuse control: Breakwater vs HAProxy (loopback)")
out.append("")
out.append(f"One proxy at a time, both running the same config file (`nbthread 2`, keep-alive, "
           f"`http-reuse safe`) in front of one nginx (2 workers) serving a 64-byte body. "
           f"Network: {netns_note}. Load average {load_start} at the start, {load_end} at the end "
           f"(1/5/15 min, {ncpu} cores).")
out.append("")

# ------------------------------------------------------------------ part 1
if "1" in parts:
    rows = {}
    for line in open(r1):
        p, v, r, rps, p50, p99, err = line.rstrip("\n").split("\t")
        rows.setdefault((p, v), []).append((num(rps), num(p50), num(p99), int(err)))
    out.append("## 1. Tracking overhead")
    out.append("")
    out.append(f"wrk -t2 -c{conns} keep-alive, GET /64, {duration} s per run, median of {runs} runs; "
               f"*plain* = frontend without rules, *tracked* = the same plus "
               f"`http-request track-sc0 src table st_req_rate`, the two ACLs with limits of 10^9 "
               f"(never reached) and `http-request tarpit if is_abusive || is_bandwidth_hog`. "
               f"Both frontends live in one proxy process; runs alternate plain/tracked (ABBA). "
               f"All wrk connections come from 127.0.0.1, so every request updates the same entry "
               f"(worst case for contention on one key). Errors = socket errors + non-2xx "
               f"(a tarpit would show up here as 500s).")
    out.append("")
    out.append("| proxy | variant | req/s | p50 ms | p99 ms | errors |")
    out.append("|---|---|---:|---:|---:|---:|")
    ratios = {}
    for p in PROXIES:
        m = {}
        for v in ("plain", "tracked"):
            rs = rows.get((p, "track" if v == "tracked" else v), [])
            m[v] = (med(x[0] for x in rs), med(x[1] for x in rs), med(x[2] for x in rs), sum(x[3] for x in rs))
            out.append(f"| {p} | {v} | {f(m[v][0], 0)} | {f(m[v][1], 3)} | {f(m[v][2], 3)} | {m[v][3]} |")
        ratios[p] = ratio(m["tracked"][0], m["plain"][0])
        out.append(f"| {p} | **tracked/plain req/s** | **{fx(ratios[p])}** | | {fx(ratio(m['tracked'][2], m['plain'][2]))} (p99) | |")
    rr = ratio(ratios["Breakwater"], ratios["HAProxy"])
    out.append("")
    out.append(f"Ratio of ratios (Breakwater tracked/plain ÷ HAProxy tracked/plain): **{fx(rr)}**. "
               f"1.00x = same relative cost; above 1 = Breakwater loses less throughput to tracking "
               f"than HAProxy (goal: ≥ 1, within noise).")
    out.append("")

# ------------------------------------------------------------------ part 2
if "2" in parts:
    out.append("## 2. Memory per entry")
    out.append("")
    out.append(f"`stick-table type string len 32 size 2m expire 10m store http_req_rate(10s),bytes_out_rate(10s)`, "
               f"filled through `http-request track-sc0 req.hdr(x-client) table big` by wrk -t2 -c{conns} "
               f"(bench/lib/fill.lua: one new key per request, keys like `c1-123456`), target "
               f"{int(fill_keys):,} keys, capped at {fill_seconds} s per proxy. Before the fill: a 2 s "
               f"warm-up with one constant key, then VmRSS and `used:` are read; after: wrk is stopped, "
               f"2 s pause, read again. Entries = `used:` from `show table` on the admin socket. "
               f"Δ bytes/entry = (VmRSS after − before) / (entries added); total bytes/entry = VmRSS "
               f"after / entries (an upper bound that also catches memory allocated up front).")
    out.append("")
    out.append("| proxy | entries reached | fill s | keys/s | VmRSS before MiB | VmRSS after MiB | VmHWM MiB | Δ bytes/entry | total bytes/entry |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    per = {}
    notes = []
    for line in open(r2):
        p, rss0, used0, rss1, used1, hwm, fill_s, rps, target = line.rstrip("\n").split("\t")
        rss0, used0, rss1, used1, hwm, rps = map(num, (rss0, used0, rss1, used1, hwm, rps))
        added = (used1 - used0) if used1 is not None and used0 is not None else None
        d = (rss1 - rss0) * 1024 / added if added and rss1 is not None and rss0 is not None else None
        t = rss1 * 1024 / used1 if used1 and rss1 is not None else None
        per[p] = (d, t)
        out.append(f"| {p} | {f(used1, 0)} | {fill_s} | {f(rps, 0)} | {f(rss0 / 1024 if rss0 else None, 1)} | "
                   f"{f(rss1 / 1024 if rss1 else None, 1)} | {f(hwm / 1024 if hwm else None, 1)} | {f(d, 1)} | {f(t, 1)} |")
        if used1 is None:
            notes.append(f"- {p}: no `used:` for table `big` on the admin socket.")
        elif used1 < int(target):
            notes.append(f"- {p}: reached {int(used1):,} of {int(target):,} keys within the {fill_seconds} s cap "
                         f"(raise FILL_SECONDS or lower FILL_KEYS).")
    if all(p in per for p in PROXIES):
        out.append(f"| **Breakwater/HAProxy** | | | | | | | **{fx(ratio(per['Breakwater'][0], per['HAProxy'][0]))}** | "
                   f"{fx(ratio(per['Breakwater'][1], per['HAProxy'][1]))} |")
    out.append("")
    out.append("Below 1 = Breakwater needs fewer bytes per entry (goal: ≤ 1).")
    if notes:
        out.append("")
        out.extend(notes)
    out.append("")

# ------------------------------------------------------------------ part 3
if "3" in parts:
    runs3 = {}
    for line in open(r3):
        p, phase, fn = line.rstrip("\n").split("\t")
        runs3[(p, phase)] = json.loads(open(fn).read().strip().splitlines()[-1])
    ds = float(drill_seconds)
    out.append("## 3. Botnet drill")
    out.append("")
    out.append(f"bench/lib/drill.py: {abusive} abusive clients (sources 127.1.x.y, one keep-alive "
               f"connection each, next request as soon as the answer is in) and {polite} polite clients "
               f"(127.2.0.x, one request per second each, own process), {drill_seconds} s per attack "
               f"phase; abusive clients split over {procs} generator processes. *limited* = the "
               f"write-up's block verbatim (`gt 50`, `gt 52428800`, `timeout tarpit 5s`); *baseline* = "
               f"the same tracking and ACLs without the tarpit rule, in the same proxy process; *quiet* = "
               f"the polite clients alone against the limited frontend ({quiet_seconds} s, the reference "
               f"for their latency). A connection the proxy closes is reopened from the same address.")
    out.append("")
    out.append("| proxy | phase | abusive sent | abusive 200 | abusive 200/s | 200 share of sent | tarpit 500s | in flight at end | abusive errors | polite answered/sent | polite p50 ms | polite p99 ms | polite p99 after 10 s | polite errors |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    for p in PROXIES:
        for phase in ("quiet", "limited", "baseline"):
            d = runs3.get((p, phase))
            if not d:
                continue
            a, q = d["abusive"], d["polite"]
            secs = d["seconds"]
            aerr = sum(a["errors"].values()) + sum(v for k, v in a["status"].items() if k not in ("200", "500"))
            if a["clients"]:
                acols = (f"{a['sent']:,} | {a['ok']:,} | {a['ok'] / secs:,.0f} | {pc(ratio(a['ok'], a['sent']))} | "
                         f"{a['status'].get('500', 0):,} | {a['inflight_end']:,} | {aerr:,}")
            else:
                acols = "– | – | – | – | – | – | –"
            out.append(f"| {p} | {phase} | {acols} | {q['responses']:,}/{q['sent']:,} | {f(q['p50_ms'], 2)} | {f(q['p99_ms'], 2)} | {f(q.get('p99_settled_ms'), 2)} | {q['nerrors']:,} |")
        lim, base, quiet = (runs3.get((p, x)) for x in ("limited", "baseline", "quiet"))
        bits = []
        if lim and base:
            cut = 1 - lim["abusive"]["ok"] / base["abusive"]["ok"] if base["abusive"]["ok"] else None
            bits.append(f"abusive throughput cut {pc(cut)} (1 − limited 200s / baseline 200s; goal ≥ 92%)")
        if lim:
            bits.append(f"{pc(1 - ratio(lim['abusive']['ok'], lim['abusive']['sent']) if lim['abusive']['sent'] else None)} "
                        f"of the abusive requests sent in the limited phase were not served 200")
        if lim and quiet and lim["polite"]["p99_ms"] is not None and quiet["polite"]["p99_ms"]:
            bits.append(f"polite p99 limited/quiet {fx(lim['polite']['p99_ms'] / quiet['polite']['p99_ms'])}"
                        f" (after the first 10 s: {fx(ratio(lim['polite'].get('p99_settled_ms'), quiet['polite'].get('p99_settled_ms') or quiet['polite']['p99_ms']))})")
        if lim and lim.get("failed_workers"):
            bits.append(f"WARNING: {lim['failed_workers']} generator worker(s) failed")
        if bits:
            summary.append(f"- **{p}**: " + "; ".join(bits) + ".")
    out.append("")
    out.extend(summary)
    out.append("")
    out.append("Reading: *abusive sent* counts requests written, including those still held by the "
               "tarpit when the phase ended (*in flight at end*). The throughput cut compares abusive 200s "
               "with the baseline phase, where nothing is tarpitted, so the baseline's 200s are what the "
               "same clients get through without limits on this machine (its denominator is bounded by "
               "what 2 cores can push, not by the clients). The share not served compares with what "
               "the clients attempted during the limited phase itself; it is lower than the cut because "
               "a tarpitted client sends only one request per 5 s. Each abusive address gets its first ~50 "
               "requests through at full speed (the limit is `gt 50` per 10 s), so the first seconds of the "
               "limited phase are a burst that loads the machine; *polite p99 after 10 s* leaves out the "
               "polite requests sent in that window (for the quiet phase: all of them if it is ≤ 10 s). "
               "Polite requests still unanswered at the end of a phase are in *sent* but not in *answered*.")
    out.append("")

out.append(f"Breakwater binary: `{bw_bin}`")
if maxconn_note:
    out.append("")
    out.append(f"Note: {maxconn_note}")
out.append("")
out.append("<details><summary>Raw runs, admin-socket output and configs</summary>")
out.append("")
if "1" in parts:
    out.append("Part 1 runs:")
    out.append("")
    out.append("| proxy | variant | run | req/s | p50 ms | p99 ms | errors |")
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for line in open(r1):
        p, v, r, rps, p50, p99, err = line.rstrip("\n").split("\t")
        out.append(f"| {p} | {v} | {r} | {f(num(rps), 0)} | {f(num(p50), 3)} | {f(num(p99), 3)} | {err} |")
    out.append("")
if "3" in parts:
    out.append("Part 3, abusive 200s per 5 s of each phase (the tarpit pattern), and status/error counts:")
    out.append("")
    for line in open(r3):
        p, phase, fn = line.rstrip("\n").split("\t")
        d = json.loads(open(fn).read().strip().splitlines()[-1])
        a, q = d["abusive"], d["polite"]
        ok = a["ok_per_s"]
        b5 = [sum(ok[i:i + 5]) for i in range(0, len(ok), 5)]
        out.append(f"- {p} {phase}: abusive 200s/5s {b5 if a['clients'] else '–'}; abusive status {a['status']} "
                   f"errors {a['errors']} connects {a['connects']}; polite status {q['status']} errors "
                   f"{q['errors']} max {q['max_ms']} ms connects {q['connects']}")
    out.append("")
out.append("```")
out.append(open(raw).read().rstrip("\n"))
out.append("```")
out.append("")
for n, cf in (("1", cfg1), ("2", cfg2), ("3", cfg3)):
    if n in parts:
        out.append(f"Part {n} config:")
        out.append("")
        out.append("```")
        out.append(open(cf).read().rstrip("\n"))
        out.append("```")
        out.append("")
out.append("</details>")
print("\n".join(out))
