#!/usr/bin/env python3
"""Table and JSON for bench/e2e/run.  report.py RESULTS.tsv OUT.json

RESULTS.tsv lines: scenario, contender, run, seconds, peak RSS KB, CPU seconds
of the contender, busy CPU seconds of the machine (or scenario, contender,
SKIP or FAIL, reason). Metadata comes from E2E_* variables.
"""
import json
import os
import statistics
import sys

ORDER = ["floor", "floor+files", "floor+sync", "pop3kit", "curl", "poplib", "pop3kit-fetch", "mpop", "getmail",
         "pop3kit-retr1"]
# What each contender does with a message; the durable ones (data on disk
# before they finish) are compared with each other below the table.
STORES = {
    "floor": "discards",
    "floor+files": "file, no sync",
    "floor+sync": "file, one syncfs at the end",
    "pop3kit": "file, no sync",
    "curl": "file, no sync",
    "poplib": "file, no sync",
    "pop3kit-fetch": "Maildir, durable: syncfs/batch",
    "mpop": "Maildir, durable: fsync/msg",
    "getmail": "Maildir, durable: fsync/msg",
    "pop3kit-retr1": "stdout to a file",
}
DURABLE = ["pop3kit-fetch", "mpop", "getmail"]
TARGET_RATIO = 1.3
TARGET_RSS_MB = 16.0
# pop3kit fetch (durable Maildir delivery, --keep) against the same floor.
FETCH_TARGET_RATIO_LOOPBACK = 1.5
FETCH_TARGET_RATIO_RTT = 1.3


def main():
    results_path, out_path = sys.argv[1], sys.argv[2]
    env = os.environ
    runs, skipped, failed, scen_order = {}, {}, {}, []
    with open(results_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            sc, c = parts[0], parts[1]
            if sc not in scen_order:
                scen_order.append(sc)
            if parts[2] == "SKIP":
                skipped[(sc, c)] = parts[3]
                continue
            if parts[2] == "FAIL":
                failed[(sc, c)] = parts[3]
                continue
            cpu = float(parts[5]) if len(parts) > 5 else float("nan")
            machine = float(parts[6]) if len(parts) > 6 else float("nan")
            runs.setdefault((sc, c), []).append((float(parts[3]), int(parts[4]), cpu, machine))

    meta = {
        "date": env.get("E2E_DATE"),
        "nproc": int(env.get("E2E_NPROC", "0")),
        "loadavg_before": env.get("E2E_LOAD_BEFORE"),
        "loadavg_after": env.get("E2E_LOAD_AFTER"),
        "runs": int(env.get("E2E_RUNS", "0")),
        "delay_ms_each_way": float(env.get("E2E_DELAY_MS", "0")),
        "pop3kit": env.get("E2E_POP3KIT_VERSION"),
        "commit": env.get("E2E_POP3KIT_COMMIT"),
        "dovecot": env.get("E2E_DOVECOT"),
        "mpop": env.get("E2E_MPOP"),
        "getmail": env.get("E2E_GETMAIL"),
        "curl": env.get("E2E_CURL"),
        "python": env.get("E2E_PYTHON"),
        "maildrops": {},
    }
    for line in env.get("E2E_MAILDROPS", "").splitlines():
        u, n, b = line.split()
        meta["maildrops"][u] = {"messages": int(n), "bytes": int(b)}

    print(f"pop3kit end-to-end benchmark — {meta['date']}")
    print(f"nproc {meta['nproc']}, load average {meta['loadavg_before']} (before) / "
          f"{meta['loadavg_after']} (after); runs {meta['runs']}; proxy delay "
          f"{meta['delay_ms_each_way']:g} ms each way")
    print(f"pop3kit {meta['pop3kit']} ({meta['commit']}), Dovecot {meta['dovecot']}, {meta['mpop']}, "
          f"{meta['getmail']}, {meta['curl']}, {meta['python']}")
    print()

    scenarios = {}
    for sc in scen_order:
        print(f"== {sc}")
        print(f"  {'contender':<14} {'min s':>9} {'median s':>9} {'max s':>9} {'/floor':>7} "
              f"{'peak RSS MB':>12} {'CPU s':>6} {'mach. CPU s':>11}  stores")
        contenders = sorted({c for (s, c) in list(runs) + list(skipped) + list(failed) if s == sc},
                            key=lambda c: ORDER.index(c) if c in ORDER else 99)
        floor_runs = runs.get((sc, "floor")) if (sc, "floor") not in failed else None
        floor_med = statistics.median(r[0] for r in floor_runs) if floor_runs else None
        entries = {}
        for c in contenders:
            if (sc, c) in skipped:
                print(f"  {c:<14} NOT MEASURED: {skipped[(sc, c)]}")
                entries[c] = {"measured": False, "reason": skipped[(sc, c)]}
                continue
            if (sc, c) in failed:
                print(f"  {c:<14} FAILED: {failed[(sc, c)]}")
                entries[c] = {"measured": False, "failed": True, "reason": failed[(sc, c)],
                              "seconds_before_failure": [r[0] for r in runs.get((sc, c), [])]}
                continue
            rs = runs[(sc, c)]
            ts = [r[0] for r in rs]
            med = statistics.median(ts)
            rss = max(r[1] for r in rs) / 1024.0
            cpu = statistics.median(r[2] for r in rs)
            machine = statistics.median(r[3] for r in rs)
            ratio = med / floor_med if floor_med and c != "pop3kit-retr1" else None
            rstr = f"{ratio:7.2f}" if ratio is not None else f"{'-':>7}"
            print(f"  {c:<14} {min(ts):9.3f} {med:9.3f} {max(ts):9.3f} {rstr} {rss:12.1f} "
                  f"{cpu:6.2f} {machine:11.2f}  {STORES.get(c, '')}")
            entries[c] = {"measured": True, "seconds": ts, "min": min(ts), "median": med,
                          "max": max(ts), "ratio_to_floor": ratio,
                          "peak_rss_kb": [r[1] for r in rs], "peak_rss_mb_max": rss,
                          "cpu_seconds": [r[2] for r in rs], "cpu_seconds_median": cpu,
                          "machine_cpu_seconds": [r[3] for r in rs],
                          "machine_cpu_seconds_median": machine,
                          "durable": c in DURABLE}
        # The durable fetchers side by side: each one's median over the
        # fastest durable median.
        durable = [(c, entries[c]["median"]) for c in DURABLE
                   if entries.get(c, {}).get("measured")]
        if len(durable) > 1:
            best = min(m for _, m in durable)
            print("  durable, median / fastest durable: " +
                  ", ".join(f"{c} {m / best:.2f}" for c, m in durable))
        # The least any durable fetcher does here: what each costs beyond it.
        ref = entries.get("floor+sync", {})
        if ref.get("measured") and durable:
            print(f"  durable, median / floor+sync ({ref['ratio_to_floor']:.2f} x floor): " +
                  ", ".join(f"{c} {m / ref['median']:.2f}" for c, m in durable))
        scenarios[sc] = entries
        print()

    # Proxy overhead check and targets.
    checks = []

    def med(sc, c):
        e = scenarios.get(sc, {}).get(c)
        return e["median"] if e and e.get("measured") else None

    d, p = med("loopback-bulk", "floor"), med("proxy0-bulk", "floor")
    if d and p:
        print(f"proxy check: floor through the 0 ms proxy / floor direct = {p / d:.2f} "
              f"(~1 means the proxy is not the bottleneck)")
        meta["proxy0_over_direct_floor"] = p / d

    def ratio_target(name, sc, c="pop3kit", limit=TARGET_RATIO):
        e = scenarios.get(sc, {}).get(c)
        if not e or not e.get("measured") or e.get("ratio_to_floor") is None:
            checks.append({"target": name, "status": "FAILED" if e and e.get("failed") else "NOT MEASURED"})
            return
        r = e["ratio_to_floor"]
        checks.append({"target": name, "value": r, "limit": limit,
                       "status": "PASS" if r <= limit else "FAIL"})

    ratio_target("loopback 2000 x 20 KB: pop3kit <= 1.3 x floor", "loopback-bulk")
    ratio_target("20 ms RTT 2000 x 20 KB: pop3kit <= 1.3 x floor", "rtt20-bulk")
    ratio_target("20 ms RTT 200 x 20 KB: pop3kit <= 1.3 x floor", "rtt20-small")
    ratio_target(f"loopback 2000 x 20 KB: pop3kit fetch (durable) <= {FETCH_TARGET_RATIO_LOOPBACK:g} x floor",
                 "loopback-bulk", "pop3kit-fetch", FETCH_TARGET_RATIO_LOOPBACK)
    ratio_target(f"20 ms RTT 2000 x 20 KB: pop3kit fetch (durable) <= {FETCH_TARGET_RATIO_RTT:g} x floor",
                 "rtt20-bulk", "pop3kit-fetch", FETCH_TARGET_RATIO_RTT)
    for c, name in (("pop3kit", "30 MB messages: pop3kit retr all -o peak RSS <= 16 MB"),
                    ("pop3kit-retr1", "30 MB message: pop3kit retr 1 peak RSS <= 16 MB"),
                    ("pop3kit-fetch", "30 MB messages: pop3kit fetch peak RSS <= 16 MB")):
        e = scenarios.get("loopback-big", {}).get(c)
        if not e or not e.get("measured"):
            checks.append({"target": name, "status": "FAILED" if e and e.get("failed") else "NOT MEASURED"})
        else:
            v = e["peak_rss_mb_max"]
            checks.append({"target": name, "value": v, "limit": TARGET_RSS_MB,
                           "status": "PASS" if v <= TARGET_RSS_MB else "FAIL"})
    print("targets (ratios of medians from this run):")
    for ch in checks:
        v = f" ({ch['value']:.2f})" if "value" in ch else ""
        print(f"  {ch['status']:<13} {ch['target']}{v}")

    with open(out_path, "w") as f:
        json.dump({"meta": meta, "scenarios": scenarios, "targets": checks}, f, indent=2)
        f.write("\n")
    print(f"\nJSON: {out_path}")


if __name__ == "__main__":
    main()
