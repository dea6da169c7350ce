"""Extraction speed: the seed's Sentry extract against its lower bound and dlt's ``rest_api`` source.

A fake Sentry (200 projects x 500 issues, 100 per page, every answer 30 ms after its request) is read by
the seed's ``dags/sentry_issues/extract.yaml`` through the engine exactly as the Airflow extract
tasks run it (root extractor once, then the ``for_each`` child over every project), and by dlt's
``rest_api`` source configured for the same endpoints. Each client runs in a fresh subprocess
(so peak RSS is its own); requests and 429s are counted on the fake.

    .venv/bin/python benchmarks/extract.py [--projects 200] [--issues 500] [--page-size 100]
        [--latency-ms 30] [--concurrency 4,8,16] [--skip-dlt] [--json PATH]

dlt is not a dependency of the project: ``.venv/bin/pip install dlt`` to get its rows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing import FakeSentry

EXTRACT_YAML = ROOT / "dags" / "sentry_issues" / "extract.yaml"
TRANSFORM_YAML = ROOT / "dags" / "sentry_issues" / "transform.yaml"
TOKEN = "sentry-bench-token"
ORG = "opslevel"
# The seed's sentry_project extractor: exclude: .name | test("production")
EXCLUDED = re.compile("production")
CLIENT_TIMEOUT = 900  # seconds; a client that takes longer is reported as timed out
NON_BINDING_LIMIT = 1_000_000  # requests per second advertised in the speed rows
PROBE_REQUEST_CAP = 30  # the header_link probe's fake answers HTTP 400 after this many requests


# -- measurement helpers (run inside the client subprocess) ---------------------------------------
def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _emit(result: dict[str, Any]) -> int:
    result["rss_start_mib"] = _START_RSS
    result["peak_rss_mib"] = _status_mib("VmHWM")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


_START_RSS = 0.0


# -- ours -----------------------------------------------------------------------------------------
def run_ours(url: str, concurrency: int) -> dict[str, Any]:
    """The two extract tasks of the seed DAG, without Airflow (see operators/extract.py)."""
    global _START_RSS
    from airflow_provider_opslevel.config import load_integration
    from airflow_provider_opslevel.extract.results import iter_chunks, to_chunks
    from airflow_provider_opslevel.extract.session import ExtractionSession
    from airflow_provider_opslevel.secrets import SecretRecorder

    _START_RSS = _status_mib("VmRSS")
    started = time.perf_counter()
    integration = load_integration(EXTRACT_YAML, TRANSFORM_YAML)
    setup = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    origins = {"https://sentry.io": url}
    requests_sent = 0
    throttles: list[Any] = []

    def task(kind: str, parents: list[dict[str, Any] | None]) -> list[Any]:
        # OpsLevelExtractOperator.execute, without Airflow (no secrets masker, no XCom): the same
        # ExtractionSession, so redaction and the echoed-secret check are measured too.
        nonlocal requests_sent
        secrets = SecretRecorder(lambda name: TOKEN)
        with ExtractionSession(integration, secrets, origins=origins, concurrency=concurrency) as session:
            try:
                return session.run(kind, parents)
            finally:
                requests_sent += session.requests_sent
                throttles.append(session.throttle)

    projects = task("sentry_project", [None])
    parents = [r for chunk in iter_chunks(to_chunks("sentry_project", projects)) for r in chunk["records"]]
    issues = task("sentry_issue", list(parents))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    records = [r for p in issues for r in p.records]
    partitions = projects + issues
    stats = [t.stats().as_dict() for t in throttles]
    return {
        "setup_s": setup,
        "wall_s": wall,
        "cpu_s": cpu,
        "throttle": stats[-1] if stats else None,  # the issues task's
        "records": len(records),
        "unique": len({r["external_id"] for r in records}),
        "complete": all(p.complete and not p.error for p in partitions),
        "failed_partitions": sum(1 for p in partitions if p.error or not p.complete),
        "first_error": next((p.error for p in partitions if p.error), None),
        "client_requests": requests_sent,
    }


# -- dlt ------------------------------------------------------------------------------------------
def _dlt_source(url: str, paginator: Any, parallelized: bool) -> Any:
    from dlt.sources.rest_api import rest_api_source  # imported (and timed) by the callers

    issues: dict[str, Any] = {
        "name": "issues",
        "endpoint": {"path": f"projects/{ORG}/{{resources.projects.id}}/issues/"},
    }
    if parallelized:
        issues["parallelized"] = True
    return rest_api_source(
        {
            "client": {
                "base_url": f"{url}/api/0/",
                "auth": {"type": "bearer", "token": TOKEN},
                "paginator": paginator,
            },
            "resources": [
                {
                    "name": "projects",
                    "endpoint": {"path": "projects/"},
                    "processing_steps": [{"filter": lambda p: not EXCLUDED.search(p["name"])}],
                },
                issues,
            ],
        }
    )


def _sentry_link_paginator() -> Any:
    from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

    class SentryLinkPaginator(HeaderLinkPaginator):
        """``header_link`` that also reads Sentry's ``results`` attribute: ``"false"`` = last page."""

        def update_state(self, response: Any, data: Any = None) -> None:
            link = response.links.get(self.links_next_key, {})
            self._next_reference = link.get("url") if link.get("results") == "true" else None

    return SentryLinkPaginator()


def run_dlt(url: str, parallelized: bool) -> dict[str, Any]:
    """Iterate dlt's rest_api ``issues`` resource (its parent ``projects`` runs to feed it)."""
    global _START_RSS
    import dlt
    from dlt.sources.rest_api import rest_api_source  # noqa: F401  (import outside the timing)

    _START_RSS = _status_mib("VmRSS")
    started = time.perf_counter()
    source = _dlt_source(url, _sentry_link_paginator(), parallelized)
    setup = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    items = list(source.resources["issues"])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "setup_s": setup,
        "wall_s": wall,
        "cpu_s": cpu,
        "records": len(items),
        "unique": len({i["id"] for i in items}),
        "complete": True,
        "failed_partitions": 0,
        "first_error": None,
        "client_requests": None,
        "dlt_version": dlt.__version__,
    }


def run_dlt_probe(url: str) -> dict[str, Any]:
    """dlt's own ``header_link`` paginator (the fake cuts it off after PROBE_REQUEST_CAP requests)."""
    global _START_RSS
    _START_RSS = _status_mib("VmRSS")
    source = _dlt_source(url, "header_link", False)
    started = time.perf_counter()
    try:
        items = list(source.resources["issues"])
    except Exception as exc:  # the fake's cut-off, as dlt reports it
        return {"wall_s": time.perf_counter() - started, "stopped_by": type(exc).__name__}
    return {"wall_s": time.perf_counter() - started, "records": len(items), "stopped_by": None}


def client_main(args: argparse.Namespace) -> int:
    if args.client == "ours":
        return _emit(run_ours(args.url, args.concurrency[0]))
    if args.client in ("dlt", "dlt-parallel"):
        return _emit(run_dlt(args.url, args.client == "dlt-parallel"))
    if args.client == "dlt-probe":
        return _emit(run_dlt_probe(args.url))
    raise SystemExit(f"unknown client {args.client}")


# -- the parent: fake, runs, report ---------------------------------------------------------------
def make_fake(args: argparse.Namespace, projects: int, issues: int) -> FakeSentry:
    from airflow_provider_opslevel.testing import FakeSentry

    return FakeSentry(
        token=TOKEN,
        org=ORG,
        projects=projects,
        issues_per_project=issues,
        page_size=args.page_size,
        latency=args.latency_ms / 1000,
        resolved_every=0,  # all unresolved: all seen by the default query=is:unresolved
    )


def dlt_installed() -> str | None:
    try:
        from importlib.metadata import version

        return version("dlt")
    except Exception:
        return None


def spawn(args: argparse.Namespace, client: str, url: str, concurrency: int = 1) -> dict[str, Any]:
    command = [sys.executable, __file__, "--client", client, "--url", url, "--concurrency", str(concurrency)]
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, cwd=ROOT, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CLIENT_TIMEOUT}s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def measure(
    args: argparse.Namespace, fake: FakeSentry, label: str, client: str, concurrency: int
) -> dict[str, Any]:
    fake.reset_log()
    print(f"  running {label} ...", flush=True)
    row = spawn(args, client, fake.url, concurrency)
    log = fake.requests
    row.update(
        label=label,
        client=client,
        concurrency=concurrency,
        requests=len(log),
        status_429=sum(1 for r in log if r.get("status") == 429),
        errors=sum(1 for r in log if r.get("status") not in (200, 429)),
        rate_limited=fake.enforce_rate_limit,
    )
    return row


def probe_header_link(args: argparse.Namespace) -> dict[str, Any]:
    """Does dlt's ``header_link`` stop at Sentry's last page (``results="false"``)?"""
    issues = 2 * args.page_size + args.page_size // 2  # three issue pages
    from airflow_provider_opslevel.testing import FakeSentry

    cut_off = (400, {"Content-Type": "application/json"}, b'{"detail": "benchmark cut-off"}')
    with FakeSentry(
        token=TOKEN, org=ORG, projects=1, issues_per_project=issues, page_size=args.page_size
    ) as fake:
        fake.faults.append(lambda info: cut_off if fake.request_count > PROBE_REQUEST_CAP else None)
        row = spawn(args, "dlt-probe", fake.url)
        log = fake.requests
    pages_needed = 1 + math.ceil(issues / args.page_size)
    row.update(
        requests=len(log),
        pages_needed=pages_needed,
        issues=issues,
        cap=PROBE_REQUEST_CAP,
    )
    row["loops"] = len(log) > pages_needed
    return row


def fmt_row(row: dict[str, Any], expected: int) -> str:
    conc = str(row["concurrency"]) if row["client"] == "ours" else "-"
    if "error" in row:
        return f"{row['label']:<27} {conc:>4}  ERROR {row['error']}"
    pct = 100 * row["status_429"] / row["requests"] if row["requests"] else 0.0
    ok = "yes" if row["complete"] and row["records"] == expected == row["unique"] else "NO"
    bound = row.get("lower_bound_s")
    vs = f"{row['wall_s'] / bound:.2f}x" if bound else "-"
    return (
        f"{row['label']:<27} {conc:>4} {row['setup_s']:6.2f} {row['wall_s']:7.2f} {vs:>7}"
        f" {row['cpu_s']:6.1f} {row['requests'] / row['wall_s']:6.1f}"
        f" {row['requests']:>8} {row['status_429']:>5} ({pct:4.1f}%) {row['records']:>8} {ok:>4}"
        f" {row['peak_rss_mib']:>6.0f} {row['rss_start_mib']:>6.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--issues", type=int, default=500, help="issues per project")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=30.0,
        help="each answer leaves this long after its request arrived",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated; the first is checked against the targets (default: DEFAULT_CONCURRENCY,8,16)",
    )
    parser.add_argument("--skip-dlt", action="store_true", help="do not run the dlt rows")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # subprocess mode
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        return client_main(args)

    # Imported here, not at the top: client subprocesses (dlt's too) load only what they use.
    from airflow_provider_opslevel.extract.parallel import DEFAULT_CONCURRENCY

    concurrencies = list(dict.fromkeys(args.concurrency or [DEFAULT_CONCURRENCY, 8, 16]))
    dlt_version = None if args.skip_dlt else dlt_installed()
    started = time.perf_counter()
    print(f"building the fake: {args.projects} projects x {args.issues} issues ...", flush=True)
    fake = make_fake(args, args.projects, args.issues)
    default_limit = fake.rate_limit
    kept = [p for p in fake.projects if not EXCLUDED.search(p["name"])]
    expected = sum(len(fake.visible_issues(p["id"])) for p in kept)
    latency = args.latency_ms / 1000
    rows: list[dict[str, Any]] = []
    probe: dict[str, Any] | None = None
    with fake:
        # Speed rows: the headers advertise a limit nobody reaches, so no client paces itself.
        fake.rate_limit = NON_BINDING_LIMIT
        for concurrency in concurrencies:
            rows.append(measure(args, fake, "ours", "ours", concurrency))
        if dlt_version:
            rows.append(measure(args, fake, "(b) dlt rest_api, defaults", "dlt", 1))
            rows.append(measure(args, fake, "    dlt parallelized=True", "dlt-parallel", 1))
        fake.rate_limit, fake.enforce_rate_limit = default_limit, True
        rows.append(measure(args, fake, f"ours, 429 past {default_limit}/s", "ours", concurrencies[0]))
    if dlt_version:
        probe = probe_header_link(args)
    total_s = time.perf_counter() - started

    for row in rows:
        row["lower_bound_s"] = None
        if row["client"] == "ours" and "error" not in row:
            bound = row["requests"] * latency / row["concurrency"]
            if row["rate_limited"]:
                bound = max(bound, row["requests"] / default_limit)
            row["lower_bound_s"] = bound

    print()
    print(
        f"Fake Sentry: {args.projects} projects x {args.issues} issues, {args.page_size} per page,"
        f" {args.latency_ms:g} ms per request; {len(fake.projects) - len(kept)} project(s) dropped by"
        f" the seed's `exclude`, so {expected:,} issue records expected. Rate-limit headers on every"
        f" response: {NON_BINDING_LIMIT:,}/s advertised, never enforced, except in the last row"
        f" (the fake's default {default_limit}/s, HTTP 429 past it)."
    )
    print(
        "Ours: seed extract.yaml + transform.yaml -> load_integration, ExtractorRunner, HttpFetcher,"
        f" run_partitions: root once, then the child over every project; DEFAULT_CONCURRENCY = {DEFAULT_CONCURRENCY}."
    )
    print()
    header = (
        f"{'client':<27} {'conc':>4} {'setup':>6} {'wall s':>7} {'/bound':>7} {'cpu s':>6} {'req/s':>6}"
        f" {'requests':>8}"
        f" {'429s':>12} {'records':>8} {'ok':>4} {'peakMB':>6} {'start':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(fmt_row(row, expected))
    for row in rows:
        if row["client"] == "ours" and not row["rate_limited"] and row["lower_bound_s"]:
            print(
                f"{'(a) lower bound':<27} {row['concurrency']:>4} {'':>6} {row['lower_bound_s']:7.2f}"
                f" {'':>7} {'':>6} {row['requests'] / row['lower_bound_s']:6.1f}"
                "  = requests x latency / concurrency"
            )
    if not dlt_version:
        print(
            "(b) dlt: skipped"
            + ("" if args.skip_dlt else " (not installed: `.venv/bin/pip install dlt` to compare)")
        )
    print()
    print(
        "setup: load_integration / rest_api_source(); wall s: the reading itself; /bound: wall / lower"
        " bound (429 row: max(requests x latency / concurrency, requests / limit)); cpu s: the client"
        " process's CPU time while reading (near wall s = CPU-bound: one core, the GIL); ok: records =="
        " expected, all unique, every partition complete; peakMB: the client process's peak RSS (MiB);"
        " start: its RSS once imported."
    )
    limited = next(r for r in rows if r["rate_limited"])
    if "error" not in limited and limited["requests"] / limited["wall_s"] < 0.9 * default_limit:
        print(
            f"429 row: ours sent {limited['requests'] / limited['wall_s']:.1f} requests/s, under the"
            f" {default_limit}/s limit, so the limit hardly bound and the 429 target is weakly tested."
        )
    if limited.get("throttle"):
        t = limited["throttle"]
        print(
            f"429 row, issues task throttle: concurrency lowest {t['min_concurrency']} of"
            f" {t['max_concurrency']}, {t['retries']} retries, waited {t['waited_rate_limit']:.1f} s"
            f" (rate limit) + {t['waited_slot']:.1f} s (slots) + {t['waited_retry']:.1f} s (backoff)"
            " thread-seconds."
        )
    if dlt_version:
        print(
            f"dlt {dlt_version}: rest_api_source, bearer auth, `projects` + child `issues` resolved from"
            " {resources.projects.id}, the seed's `exclude` as a `filter` processing step; the issues"
            " iterated in memory (list(source.resources['issues'])), no destination."
        )
        print(
            "  Paginator: a 4-line HeaderLinkPaginator subclass that stops when Sentry's next link says"
            ' results="false" (no built-in dlt paginator does).'
        )
    if probe is not None:
        if "error" in probe:
            print(f"  header_link probe: ERROR {probe['error']}")
        else:
            verdict = (
                f"follows rel=next past the last page: {probe['requests']} requests for"
                f" {probe['pages_needed']} pages until the fake cut it off (HTTP 400 after {probe['cap']}"
                f" requests; dlt raised {probe.get('stopped_by')}); against Sentry it never ends"
                if probe["loops"]
                else f"stopped after {probe['requests']} requests ({probe['pages_needed']} pages needed)"
            )
            print(f"  dlt's own header_link (1 project x {probe['issues']} issues) {verdict}.")

    checks = targets(rows, expected, default_limit)
    print()
    print("Targets:")
    for name, passed, detail in checks:
        mark = "SKIP" if passed is None else "PASS" if passed else "FAIL"
        print(f"  {mark}  {name}: {detail}")
    for row in rows:
        if "error" not in row and row.get("first_error"):
            print(
                f"  ({row['label'].strip()} @ {row['concurrency']}: a partition failed: {row['first_error']})"
            )
    print(f"\n(total {total_s:.0f} s, building the fake included)")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "setup": {
                        "projects": args.projects,
                        "issues_per_project": args.issues,
                        "page_size": args.page_size,
                        "latency_ms": args.latency_ms,
                        "advertised_rate_limit_per_s": NON_BINDING_LIMIT,
                        "enforced_rate_limit_per_s": default_limit,
                        "expected_records": expected,
                        "default_concurrency": DEFAULT_CONCURRENCY,
                        "dlt_version": dlt_version,
                    },
                    "rows": rows,
                    "dlt_header_link_probe": probe,
                    "targets": [{"name": n, "passed": p, "detail": d} for n, p, d in checks],
                },
                indent=2,
            )
        )
    return 0 if all(p is not False for _, p, _ in checks) else 1


def targets(rows: list[dict[str, Any]], expected: int, limit: int) -> list[tuple[str, bool | None, str]]:
    def good(row: dict[str, Any]) -> bool:
        return "error" not in row and row["complete"] and row["records"] == expected == row["unique"]

    ours = next(r for r in rows if r["client"] == "ours" and not r["rate_limited"])
    limited = next(r for r in rows if r["rate_limited"])
    dlt_row = next((r for r in rows if r["client"] == "dlt"), None)
    checks: list[tuple[str, bool | None, str]] = []
    bad = [
        f"{r['label'].strip()} @ {r['concurrency']}" for r in rows if r["client"] == "ours" and not good(r)
    ]
    checks.append(
        (
            "ours extracts every record, every partition complete",
            not bad,
            f"{expected:,} expected" + (f"; not in: {', '.join(bad)}" if bad else ""),
        )
    )
    if good(ours):
        ratio = ours["wall_s"] / ours["lower_bound_s"]
        name = f"ours within 1.3x of the lower bound (concurrency {ours['concurrency']})"
        checks.append((name, ratio <= 1.3, f"{ratio:.2f}x"))
        if dlt_row is not None and "error" not in dlt_row:
            speedup = dlt_row["wall_s"] / ours["wall_s"]
            checks.append(("ours at least 2x faster than dlt (defaults)", speedup >= 2, f"{speedup:.2f}x"))
        else:
            checks.append(("ours at least 2x faster than dlt (defaults)", None, "dlt not measured"))
    else:
        checks.append(("ours within 1.3x of the lower bound", False, "the run failed"))
    if "error" not in limited and limited["requests"]:
        share = limited["status_429"] / limited["requests"]
        checks.append(
            (
                f"429s under 1% of requests (fake enforcing {limit}/s)",
                share < 0.01 and good(limited),
                f"{limited['status_429']} of {limited['requests']} = {100 * share:.1f}%"
                + ("" if good(limited) else ", and records are missing"),
            )
        )
    else:
        checks.append(("429s under 1% of requests", False, limited.get("error", "no requests")))
    return checks


if __name__ == "__main__":
    raise SystemExit(main())
