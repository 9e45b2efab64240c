"""The Markdown report of one `bench/run.py` run: its tables, then every target and whether it was met."""
from __future__ import annotations

from typing import Any

# Servers in the fan-out tables, in order, and how each is named there.
SERVER_NAMES = {"scoreboard": "scoreboard", "redis": "scoreboard on Redis", "baseline": "baseline"}


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def times(value: float | None) -> str:
    """`0.71x`, or `–` when there is nothing to compare."""
    return "–" if value is None else f"{value:,.2f}x"


def ratio(ours: Any, theirs: Any) -> float | None:
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs:
        return round(ours / theirs, 2)
    return None


def compare(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    """Ours / baseline; below 1 is better for costs and latency, above 1 for deliveries/s."""
    return {
        "cpu_us_per_delivery": ratio(ours["burst"]["server_cpu_us_per_delivery"], base["burst"]["server_cpu_us_per_delivery"]),
        "deliveries_per_s": ratio(ours["burst"]["deliveries_per_s"], base["burst"]["deliveries_per_s"]),
        "rss_kb_per_subscriber": ratio(ours["rss_kb_per_subscriber"], base["rss_kb_per_subscriber"]),
        "latency_p50": ratio(ours["paced"]["latency_p50_ms"], base["paced"]["latency_p50_ms"]),
        "latency_p99": ratio(ours["paced"]["latency_p99_ms"], base["paced"]["latency_p99_ms"]),
        "fanout": ratio(ours["paced"]["fanout_p50_ms"], base["paced"]["fanout_p50_ms"]),
        "connect_s": ratio(ours.get("connect_s"), base.get("connect_s")),
        "connect_server_us": ratio(ours.get("connect_server_us"), base.get("connect_server_us")),
    }


def cpu_split(burst: dict[str, Any]) -> str:
    """`7.7 (1.7 + 6.0)`: the kernel's send() is the floor, user time is what code can cut."""
    total = fmt(burst["server_cpu_us_per_delivery"])
    user, kernel = burst.get("server_user_us_per_delivery"), burst.get("server_kernel_us_per_delivery")
    return total if user is None or kernel is None else f"{total} ({fmt(user)} + {fmt(kernel)})"


def lossless(result: dict[str, Any]) -> bool:
    return result["drops"] == 0 and result["duplicates"] == 0 and result["out_of_order"] == 0


def fanout_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| clients | N | server | delivered / expected | drops / dup / order | p50 / p99 ms | fan-out ms | "
        "deliveries/s | CPU µs/delivery (user + kernel) | RSS KB/sub | loadgen CPU |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for kind, name in SERVER_NAMES.items():
            r = row.get(kind)
            if r is None:
                continue
            redis_cpu = r["burst"].get("redis_cpu_us_per_delivery")
            extra = f" + Redis {fmt(redis_cpu, 2)}" if redis_cpu is not None else ""
            lines.append(
                f"| {row['clients']} | {r['subscribers']:,} | {name} | {fmt(r['received_deliveries'])} / "
                f"{fmt(r['expected_deliveries'])} | {r['drops']} / {r['duplicates']} / {r['out_of_order']} | "
                f"{fmt(r['paced']['latency_p50_ms'])} / {fmt(r['paced']['latency_p99_ms'])} | "
                f"{fmt(r['paced']['fanout_p50_ms'])} | {fmt(r['burst']['deliveries_per_s'])} | "
                f"{cpu_split(r['burst'])}{extra} | {fmt(r['rss_kb_per_subscriber'])} | "
                f"{fmt(r['burst']['loadgen_cpu_share'] * 100, 0)} % |"
            )
        if row.get("ratios"):
            q = row["ratios"]
            lines.append(
                f"| {row['clients']} | {row['subscribers']:,} | **ratio** | | | "
                f"{fmt(q['latency_p50'], 2)} / {fmt(q['latency_p99'], 2)} | {fmt(q.get('fanout'), 2)} | "
                f"{times(q['deliveries_per_s'])} | {times(q['cpu_us_per_delivery'])} | "
                f"{times(q['rss_kb_per_subscriber'])} | |"
            )
        if row.get("redis_ratios"):
            q = row["redis_ratios"]
            lines.append(
                f"| {row['clients']} | {row['subscribers']:,} | **Redis / embedded** | | | "
                f"{fmt(q['latency_p50'], 2)} / {fmt(q['latency_p99'], 2)} | {fmt(q.get('fanout'), 2)} | "
                f"{times(q['deliveries_per_s'])} | {times(q['cpu_us_per_delivery'])} | "
                f"{times(q['rss_kb_per_subscriber'])} | |"
            )
    return lines


def connect_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| clients | N | server | connect + subscribe s | connections/s | server CPU µs/connection (user + kernel) "
        "| server CPU | loadgen CPU | vs textbook |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for kind, name in SERVER_NAMES.items():
            r = row.get(kind)
            if r is None or "connect_s" not in r:
                continue
            versus = ""
            if kind != "baseline" and "baseline" in row:
                versus = times(ratio(r['connect_s'], row['baseline']['connect_s']))
            lines.append(
                f"| {row['clients']} | {r['subscribers']:,} | {name} | {fmt(r['connect_s'], 2)} | "
                f"{fmt(r['connects_per_s'])} | {fmt(r['connect_server_us'])} ({fmt(r['connect_server_user_us'])} + "
                f"{fmt(r['connect_server_kernel_us'])}) | {fmt(r['connect_server_cpu_share'] * 100, 0)} % | "
                f"{fmt(r['connect_loadgen_cpu_share'] * 100, 0)} % | {versus} |"
            )
    return lines


def storm_table(storms: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| store, hand-over | fans | SIGTERM → new listening s | listening → all resumed s | "
        "listening → all caught up s | event latency p50 / p99 / max ms | drops / dup / order | "
        "reconnects (refused) | snapshots on resume | server CPU µs/resume | loadgen CPU | listen overflows |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in storms.items():
        if "error" in s:
            lines.append(f"| {name} | {fmt(s.get('fans'))} | failed: {s['error'][:200]} |" + " |" * 9)
            continue
        lines.append(
            f"| {name} | {s['fans']:,} | {fmt(s['outage_s'], 2)} | {fmt(s['all_resumed_s'], 2)} | "
            f"**{fmt(s['all_caught_up_s'], 2)}** | {fmt(s['latency_p50_ms'])} / {fmt(s['latency_p99_ms'])} / "
            f"{fmt(s['latency_max_ms'])} | {s['drops']} / {s['duplicates']} / {s['out_of_order']} | "
            f"{fmt(s['reconnects'])} ({fmt(s['refused'])}) | {fmt(s['resume_snapshots'])} | "
            f"{fmt(s['server_cpu_us_per_resume'])} | {fmt(s['loadgen_cpu_share'] * 100, 0)} % | "
            f"{fmt(s['listen_overflows'])} |"
        )
    return lines


def _row(rows: list[dict[str, Any]], clients: str, n: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["clients"] == clients and r["subscribers"] == n), None)


Check = tuple[str, str, "bool | None"]


def issue6_checks(report: dict[str, Any]) -> list[Check]:
    rows = report["fanout"]
    checks: list[Check] = []
    plain = _row(rows, "plain", 10000)
    value = plain["ratios"]["cpu_us_per_delivery"] if plain and plain.get("ratios") else None
    checks.append(("CPU per delivery, N=10,000, no compression: at most 0.8x the textbook loop",
                   times(value), None if value is None else value <= 0.8))
    deflate = _row(rows, "deflate offered", 10000)
    if deflate and deflate.get("ratios"):
        value = deflate["ratios"]["deliveries_per_s"]
        checks.append(("Deliveries/s, N=10,000, clients offering deflate: at least 2x the textbook loop",
                       times(value), value is not None and value >= 2))
        rss = deflate["scoreboard"]["rss_kb_per_subscriber"]
        checks.append(("RSS per subscriber, same run: at most 12 KB", f"{fmt(rss)} KB", rss <= 12))
    else:
        checks.append(("Deliveries/s, N=10,000, clients offering deflate: at least 2x the textbook loop", "not run", None))
    latency_at = report["meta"]["args"]["latency_at"]
    for clients in ("plain", "deflate offered"):
        paced = _row(rows, clients, latency_at)
        if paced and "scoreboard" in paced:
            p = paced["scoreboard"]["paced"]
            base = paced.get("baseline", {}).get("paced", {})
            ok = p["latency_p50_ms"] is not None and p["latency_p50_ms"] <= 30 and p["latency_p99_ms"] <= 60
            checks.append((f"Latency, N={latency_at:,} ({clients}), one event every "
                           f"{report['meta']['paced_interval_s'] * 1000:.0f} ms: p50 ≤ 30 ms, p99 ≤ 60 ms",
                           f"{fmt(p['latency_p50_ms'])} / {fmt(p['latency_p99_ms'])} ms (textbook loop "
                           f"{fmt(base.get('latency_p50_ms'))} / {fmt(base.get('latency_p99_ms'))})", ok))
    ingest = report["ingest"].get("scoreboard")
    checks.append((f"Durable ingest, {ingest['scorekeepers'] if ingest else 32} scorekeepers: at least 3,000 events/s",
                   f"{fmt(ingest['events_per_s'])} events/s" if ingest else "not run",
                   ingest["events_per_s"] >= 3000 if ingest else None))
    every = [r[kind] for r in rows + report.get("big", []) for kind in SERVER_NAMES if kind in r]
    every += [s for s in report.get("storm", {}).values() if "drops" in s]
    ok = all(lossless(r) for r in every)
    checks.append(("Every run: 0 drops, 0 duplicates, 0 out of order", "yes" if ok else "NO", ok))
    return checks


def issue14_checks(report: dict[str, Any]) -> list[Check]:
    rows = report["fanout"]
    checks: list[Check] = []
    plain = _row(rows, "plain", 10000)
    if plain and "scoreboard" in plain and "baseline" in plain:
        ours, base = plain["scoreboard"]["connect_s"], plain["baseline"]["connect_s"]
        value = ratio(ours, base)
        checks.append(("Connect and subscribe 10,000 fans: at most 0.8x the textbook loop's time",
                       f"{fmt(ours, 2)} s vs {fmt(base, 2)} s: {times(value)}", value is not None and value <= 0.8))
    else:
        checks.append(("Connect and subscribe 10,000 fans: at most 0.8x the textbook loop's time", "not run", None))
    storms = report.get("storm", {})
    if not storms:
        checks.append(("Deploy storm, N=10,000: every fan caught up within 5 s of the new process listening; "
                       "0 drops, 0 duplicates, 0 out of order", "not run", None))
    for name, s in storms.items():
        label = (f"Deploy storm ({name}), N={s.get('fans', 0):,}: every fan caught up within 5 s of the new "
                 "process listening; 0 drops, 0 duplicates, 0 out of order")
        if "error" in s:
            checks.append((label, f"failed: {s['error'][:120]}", False))
            continue
        ok: bool | None = s["all_caught_up_s"] is not None and s["all_caught_up_s"] <= 5 and lossless(s)
        note = ""
        if s["fans"] < 10000:
            ok, note = None, " (below N=10,000: not the target's run)"
        checks.append((label, f"{fmt(s['all_caught_up_s'], 2)} s; {s['drops']} / {s['duplicates']} / "
                       f"{s['out_of_order']}{note}", ok))
    big = next((r for r in report.get("big", []) if "scoreboard" in r), None)
    label = "N=50,000: at most 6 KB RSS per subscriber, every event delivered, one event's fan-out at most 0.6x the textbook loop's"
    if big:
        ours = big["scoreboard"]
        fan = ratio(ours["paced"]["fanout_p50_ms"], big.get("baseline", {}).get("paced", {}).get("fanout_p50_ms"))
        met: bool | None = (ours["rss_kb_per_subscriber"] <= 6 and lossless(ours) and ours["connected"] == ours["subscribers"]
                            and fan is not None and fan <= 0.6)
        note = ""
        if ours["subscribers"] < 50000:
            met = None
            note = (f" (the open-file limit, {report['meta'].get('nofile', 0):,}, allows no N=50,000 on one process "
                    "here: not the target's run)")
        checks.append((label, f"N={ours['subscribers']:,}{note}, connected {ours['connected']:,}: {fmt(ours['rss_kb_per_subscriber'])} "
                       f"KB/sub; {fmt(ours['received_deliveries'])} / {fmt(ours['expected_deliveries'])} delivered; "
                       f"fan-out {fmt(ours['paced']['fanout_p50_ms'])} ms vs "
                       f"{fmt(big.get('baseline', {}).get('paced', {}).get('fanout_p50_ms'))} ms: {times(fan)}", met))
    else:
        checks.append((label, "not run (opt-in: --big)", None))
    plain_redis = plain["redis_ratios"]["cpu_us_per_delivery"] if plain and plain.get("redis_ratios") else None
    checks.append(("Redis mode, N=10,000: CPU per delivery within 1.1x of the embedded default's",
                   times(plain_redis) if plain_redis is not None else "not run",
                   None if plain_redis is None else plain_redis <= 1.1))
    return checks


def push_lines(push: dict[str, Any]) -> list[str]:
    return [
        "", "| push run | subscriptions | received | pushes/s | sender CPU µs/push | server CPU µs/push | "
        "fans | fan-out p50 / p99 ms without | during the burst | p99 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| one goal | {fmt(push['subscriptions'])} | {fmt(push['pushes_received'])} | {fmt(push['pushes_per_s'])} | "
        f"{fmt(push['sender_cpu_us_per_push'])} | {fmt(push['server_cpu_us_per_push'])} | {fmt(push['fans'])} | "
        f"{fmt(push['quiet_p50_ms'])} / {fmt(push['quiet_p99_ms'])} | {fmt(push['burst_p50_ms'])} / "
        f"{fmt(push['burst_p99_ms'])} | {fmt(push['p99_ratio'], 2)}x |",
    ]


def push_checks(report: dict[str, Any]) -> list[Check]:
    push = report.get("push")
    if not push:
        return []
    n = push["subscriptions"]
    q = push["p99_ratio"]
    return [
        (f"Push: one goal to {n:,} subscriptions, at least 2,000 pushes/s on one core",
         f"{fmt(push['pushes_per_s'])} pushes/s ({fmt(push['pushes_received'])} received)",
         push["pushes_per_s"] >= 2000 and push["pushes_received"] == n),
        ("WebSocket fan-out p99 during the push burst: at most 1.5x without it",
         f"{fmt(push['burst_p99_ms'])} vs {fmt(push['quiet_p99_ms'])} ms ({fmt(q, 2)}x)", q is not None and q <= 1.5),
    ]


def target_lines(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    groups = [("issue 6", issue6_checks(report)), ("issue 14", issue14_checks(report)), ("push", push_checks(report))]
    for title, checks in groups:
        if not checks:
            continue
        lines += ["", f"| target ({title}) | measured | met |", "|---|---|---|"]
        for label, measured, ok in checks:
            met = "–" if ok is None else ("yes" if ok else "**no**")
            lines.append(f"| {label} | {measured} | {met} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [
        f"Scoreboard benchmark, {meta['date']} — {meta['machine']['cpu']} ({meta['machine']['cpus']} CPUs), "
        f"Python {meta['machine']['python']}, aiohttp {meta['machine']['aiohttp']}; server pinned "
        f"{meta['server_pin'] or 'unpinned'}, load generator {meta['loadgen_pin'] or 'unpinned'} "
        f"({meta.get('loadgen_loop', '?')}). Latency: {meta['paced_interval_s'] * 1000:.0f} ms between events; "
        "deliveries/s and CPU: events back to back. Load average at start / end: "
        f"{fmt(meta.get('loadavg_start', [None])[0], 2)} / {fmt(meta.get('loadavg_end', [None])[0], 2)}; "
        f"took {fmt(meta.get('elapsed_s'), 0)} s.",
    ]
    if report["fanout"]:
        lines += ["", *fanout_table(report["fanout"])]
    if report.get("big"):
        lines += ["", "Opt-in row (`--big`), several loopback source addresses, events "
                  f"{report['meta']['args']['big_interval'] * 1000:.0f} ms apart:", "", *fanout_table(report["big"])]
    connects = report["fanout"] + report.get("big", [])
    if connects:
        lines += ["", "Connecting: handshake + subscribe + first snapshot received, "
                  f"{report['meta'].get('connect_concurrency', 100)} handshakes in flight at a time:", "",
                  *connect_table(connects)]
    if report.get("storm"):
        lines += ["", "Deploy storm: fans on one live match, SIGTERM, a new process on the same port, one event "
                  "every 300 ms throughout (see README \"Performance\"):", "", *storm_table(report["storm"])]
    if report["ingest"]:
        lines += ["", "| ingest | scorekeepers | events/s acknowledged | failed | request p50 / p99 ms | server CPU | loadgen CPU |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for kind, r in report["ingest"].items():
            durable = "durable (SQLite)" if kind == "scoreboard" else "in memory, not durable"
            lines.append(
                f"| {kind}, {durable} | {r['scorekeepers']} | {fmt(r['events_per_s'])} | {r['failed']} | "
                f"{fmt(r['request_p50_ms'])} / {fmt(r['request_p99_ms'])} | {fmt(r['server_cpu_share'] * 100, 0)} % | "
                f"{fmt(r['loadgen_cpu_share'] * 100, 0)} % |"
            )
    if report.get("push"):
        lines += push_lines(report["push"])
    lines += target_lines(report)
    lines += [
        "",
        "Ratios are scoreboard / baseline (below 1 is better, except deliveries/s); \"Redis / embedded\" is the "
        "same server on Redis against itself on SQLite (its CPU is the server process's; Redis's own is shown "
        "beside it). A load-generator CPU near 100 % means the client, not the server, bounded that row's "
        "times; CPU µs per delivery or connection is read from the server's own /proc counters and holds "
        "either way. Ingest counts after 2 s of the same load (warm-up: the SQLite WAL file is still growing then).",
    ]
    busy = max(meta.get("loadavg_start", [0])[:1] + meta.get("loadavg_end", [0])[:1] or [0])
    if busy > 2.5:
        lines += [
            "",
            f"**Warning:** load average {busy:.1f} on {meta['machine']['cpus']} CPUs: other work shared the cores, "
            "so latency, times and deliveries/s are unreliable in this run; per-delivery CPU and RSS are much less affected.",
        ]
    return "\n".join(lines) + "\n"
