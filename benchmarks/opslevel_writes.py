"""How many OpsLevel requests a Sentry-issue sync sends: our batched sync vs a naive client.

OpsLevel allows 400 GraphQL requests per minute per token, so the number of requests a sync
sends is its speed. For each size N this runs three syncs of N synthetic Sentry issues (the
seed's ``dags/sentry_issues`` mapping) against a fake OpsLevel over real HTTP:

(a) first sync into an empty catalog; (b) re-sync, nothing changed; (c) re-sync with the
substatus of 1% of the issues changed.

Each client gets its own fresh :class:`FakeOpsLevel` per N (the three syncs run in order
against it). Requests are counted on the fake (its request log between ``reset_log()`` calls)
and checked against the client's own counter.

    .venv/bin/python benchmarks/opslevel_writes.py [--sizes 1000,10000] [--naive-max N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.results import collect
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelApiError, OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.coerce import coerce
from airflow_provider_opslevel.transform.mapping import map_records
from airflow_provider_opslevel.transform.sync import run_sync

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "dags" / "sentry_issues"
TOKEN = "bench-token"
RATE_LIMIT = 400  # OpsLevel: GraphQL requests per minute per token
KIND = "sentry_issue"
# The seed's component type (dags/sentry_issues/catalog.yaml; substatus may be null).
PROPERTIES = {
    "project_slug": {"name": "Project Slug", "schema": {"type": "array", "items": {"type": "string"}}},
    "substatus": {"name": "Substatus", "schema": {"type": ["string", "null"]}},
    "url": {"name": "URL", "schema": {"type": "string"}},
}
SCENARIOS = {
    "a": "first sync, empty catalog",
    "b": "re-sync, nothing changed",
    "c": "re-sync, 1% changed",
}
CHANGE_EVERY = 100  # (c) changes the substatus of every 100th issue
SUBSTATUS = ["new", "ongoing", "escalating", "regressed", None]
NEXT_SUBSTATUS = {value: SUBSTATUS[(i + 1) % len(SUBSTATUS)] for i, value in enumerate(SUBSTATUS)}
PROJECTS = ["backend", "frontend", "payments", "mobile-ios", "mobile-android", "search", "billing"]
EXCEPTIONS = ["TypeError", "KeyError", "ValueError", "TimeoutError", "ConnectionResetError"]


# -- data ----------------------------------------------------------------------------------
def make_issues(n: int) -> list[dict[str, Any]]:
    """``n`` Sentry issues, the same every run (ids, titles, permalinks, substatus incl. null)."""
    issues = []
    for i in range(n):
        issue_id = str(4_000_000_000 + i)
        issues.append(
            {
                "id": issue_id,
                "title": f"{EXCEPTIONS[i % len(EXCEPTIONS)]}: failure #{i} in handler",
                "permalink": f"https://opslevel.sentry.io/issues/{issue_id}/",
                "substatus": SUBSTATUS[i % len(SUBSTATUS)],
                "project": {"slug": PROJECTS[i % len(PROJECTS)]},
            }
        )
    return issues


def change_some(issues: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """A copy with the substatus of 1% of the issues moved on (one per block of 100).

    The changed issue's place in its block rotates so the changes cover every transition,
    to and from null included.
    """
    changed = [dict(issue) for issue in issues]
    count = 0
    for block in range(len(changed) // CHANGE_EVERY):
        issue = changed[block * CHANGE_EVERY + block % len(SUBSTATUS)]
        issue["substatus"] = NEXT_SUBSTATUS[issue["substatus"]]
        count += 1
    return changed, count


def extraction(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The extract task's XCom value: one chunk, one complete partition."""
    records = [{"external_id": issue["id"], "data": issue} for issue in issues]
    partition = {"parent": None, "complete": True, "pages": 1, "records": len(records), "error": None}
    return [{"external_kind": KIND, "records": records, "partitions": [partition]}]


# -- the naive client ----------------------------------------------------------------------
ERRORS = "errors { message path }"
NAIVE_LOOKUP = "query NaiveLookup($alias: String!) { account { service(alias: $alias) { id aliases } } }"
NAIVE_CREATE = (
    "mutation NaiveCreate($input: ServiceCreateInput!) "
    f"{{ serviceCreate(input: $input) {{ service {{ id aliases }} {ERRORS} }} }}"
)
NAIVE_ALIAS = (
    f"mutation NaiveAlias($input: AliasCreateInput!) {{ aliasCreate(input: $input) {{ aliases {ERRORS} }} }}"
)
NAIVE_UPDATE = (
    "mutation NaiveUpdate($input: ServiceUpdateInput!) "
    f"{{ serviceUpdate(input: $input) {{ service {{ id }} {ERRORS} }} }}"
)
NAIVE_ASSIGN = (
    "mutation NaiveAssign($input: PropertyInput!) "
    f"{{ propertyAssign(input: $input) {{ property {{ value validationErrors {{ message }} }} {ERRORS} }} }}"
)


def naive_sync(transforms: Any, values: list[dict[str, Any]], client: OpsLevelClient) -> None:
    """One component at a time: look it up, create (+ alias) or update it, assign every property."""

    def send(document: str, variables: dict[str, Any], name: str, field: str) -> Any:
        data = client.execute(document, variables, name)
        payload = data[field]
        problems = (payload or {}).get("errors") or ((payload or {}).get("property") or {}).get(
            "validationErrors"
        )
        if problems:
            raise OpsLevelApiError(f"{name} {variables}: {problems}")
        return payload

    desired, issues = map_records(transforms, collect(values))
    if issues:
        raise SystemExit(f"mapping failed: {issues[0]}")
    for item in desired.values():
        # The type's definitions win; a key it does not define goes to the built-in field (``name``).
        fields = {**item.fields, **{k: v for k, v in item.properties.items() if k not in PROPERTIES}}
        properties = {k: v for k, v in item.properties.items() if k in PROPERTIES}
        found = client.execute(NAIVE_LOOKUP, {"alias": item.alias}, "NaiveLookup")["account"]["service"]
        if found is None:
            payload = {**fields, "type": {"alias": item.kind}}
            service = send(NAIVE_CREATE, {"input": payload}, "NaiveCreate", "serviceCreate")["service"]
            owner = service["id"]
            if item.alias not in service["aliases"]:
                send(
                    NAIVE_ALIAS,
                    {"input": {"alias": item.alias, "ownerId": owner}},
                    "NaiveAlias",
                    "aliasCreate",
                )
        else:
            owner = found["id"]
            send(NAIVE_UPDATE, {"input": {"id": owner, **fields}}, "NaiveUpdate", "serviceUpdate")
        for name, value in properties.items():
            value = coerce(value, PROPERTIES[name]["schema"])  # the schemas are known up front
            assign = {"owner": {"id": owner}, "definition": {"alias": name}, "value": json.dumps(value)}
            send(NAIVE_ASSIGN, {"input": assign}, "NaiveAssign", "propertyAssign")


# -- measuring -----------------------------------------------------------------------------
def _kind_of(query: str) -> str:
    match = re.match(r"\s*(mutation|query|subscription)\b", query or "")
    return match.group(1) if match else "query"  # an anonymous "{ ... }" is a query


def _fields_in(query: str) -> int:
    """Fields in a batched request (aliased f0, f1, ...), else 1."""
    return max(1, len(re.findall(r"^\s*f\d+:", query or "", flags=re.MULTILINE)))


def measure(fake: FakeOpsLevel, client: OpsLevelClient, run: Callable[[], Any]) -> dict[str, Any]:
    fake.reset_log()
    before = client.requests_sent
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    log = fake.requests
    kinds = Counter(_kind_of(entry["query"]) for entry in log)
    operations: dict[str, dict[str, int]] = {}
    for entry in log:
        stats = operations.setdefault(entry["operation_name"] or "?", {"requests": 0, "fields": 0})
        stats["requests"] += 1
        stats["fields"] += _fields_in(entry["query"])
    failed = [entry for entry in log if entry.get("status") != 200]
    if fake.rejected or failed:
        raise SystemExit(f"the fake refused requests: {(fake.rejected or failed)[0]}")
    return {
        "requests": len(log),
        "client_requests": client.requests_sent - before,
        "mutations": kinds["mutation"],
        "reads": kinds["query"],
        "minutes_at_limit": len(log) / RATE_LIMIT,
        "wall_seconds": wall,
        "operations": operations,
    }


def catalog_state(fake: FakeOpsLevel) -> dict[str, Any]:
    """alias → (name, properties without nulls): what both clients should leave behind."""
    state = {}
    for component in fake.components():
        properties = {k: v for k, v in component["properties"].items() if v is not None}
        for alias in component["managedAliases"]:
            state[alias] = (component["type"], component["name"], properties)
    return state


def run_size(n: int, transforms: Any, clients: list[str]) -> tuple[dict[str, Any], int]:
    issues = make_issues(n)
    changed, changed_count = change_some(issues)
    inputs = {"a": extraction(issues), "b": extraction(issues), "c": extraction(changed)}
    results: dict[str, Any] = {}
    states: dict[str, dict[str, Any]] = {}
    for name in clients:
        with FakeOpsLevel(token=TOKEN) as fake:  # a fresh fake per client and size
            fake.add_component_type(KIND, "Sentry Issue", properties=PROPERTIES)
            results[name] = {}
            for scenario, values in inputs.items():
                client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=None)
                if name == "ours":
                    catalog = OpsLevelCatalog(client)

                    def run(values: Any = values, catalog: OpsLevelCatalog = catalog) -> None:
                        report = run_sync(transforms, values, catalog, dry_run=False)
                        if report.problems():
                            raise SystemExit(f"sync problems: {report.problems()[:3]}")

                else:

                    def run(values: Any = values, client: OpsLevelClient = client) -> None:
                        naive_sync(transforms, values, client)

                results[name][scenario] = measure(fake, client, run)
                client.close()
                states[f"{name}:{scenario}"] = catalog_state(fake) if len(clients) > 1 else {}
    if len(clients) > 1:
        for scenario in inputs:
            if states[f"ours:{scenario}"] != states[f"naive:{scenario}"]:
                raise SystemExit(f"N={n} ({scenario}): the two clients left different catalogs")
    return results, changed_count


def extrapolate(base: dict[str, Any], factor: float) -> dict[str, Any]:
    scaled = {key: value * factor for key, value in base.items() if isinstance(value, (int, float))}
    for key in ("requests", "client_requests", "mutations", "reads"):
        scaled[key] = round(scaled[key])
    scaled["minutes_at_limit"] = scaled["requests"] / RATE_LIMIT
    scaled["extrapolated"] = True
    return scaled


# -- reporting -----------------------------------------------------------------------------
def targets(n: int, ours: dict[str, Any], naive: dict[str, Any], changed: int) -> list[tuple[str, bool, str]]:
    a, b, c = ours["a"], ours["b"], ours["c"]
    ratio = naive["a"]["requests"] / a["requests"]
    allowed_b = n / 100
    allowed_c = b["reads"] + math.ceil(changed / 10)  # 1 write request per 10 changed, rounded up
    return [
        (
            "(a) first sync: >= 20x fewer requests than naive",
            ratio >= 20,
            f"{naive['a']['requests']} / {a['requests']} = {ratio:.1f}x",
        ),
        (
            "(b) unchanged: 0 mutations, <= 1 read per 100 components",
            b["mutations"] == 0 and b["reads"] <= allowed_b,
            f"{b['mutations']} mutations, {b['reads']} reads (allowed {allowed_b:g})",
        ),
        (
            "(c) 1% changed: <= reads of (b) + 1 per 10 changed",
            c["requests"] <= allowed_c,
            f"{c['requests']} requests (allowed {b['reads']} + ceil({changed}/10) = {allowed_c})",
        ),
    ]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i > 2 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_size(n: int, ours: dict[str, Any], naive: dict[str, Any]) -> None:
    header = [
        "N",
        "scenario",
        "client",
        "requests",
        "mutations",
        "reads",
        "min@400/min",
        "wall s",
        "naive/ours req",
        "naive/ours wall",
    ]
    rows = [header]
    for scenario, label in SCENARIOS.items():
        for name, figures in (("naive", naive[scenario]), ("ours", ours[scenario])):
            extra = figures.get("extrapolated")
            ratio_req = ratio_wall = ""
            if name == "ours":
                ratio_req = f"{naive[scenario]['requests'] / figures['requests']:.1f}x"
                ratio_wall = f"{naive[scenario]['wall_seconds'] / figures['wall_seconds']:.1f}x"
            rows.append(
                [
                    f"{n:,}",
                    f"({scenario}) {label}",
                    name + (" (extrapolated)" if extra else ""),
                    f"{figures['requests']:,}",
                    f"{figures['mutations']:,}",
                    f"{figures['reads']:,}",
                    f"{figures['minutes_at_limit']:.2f}",
                    f"{figures['wall_seconds']:.2f}",
                    ratio_req,
                    ratio_wall,
                ]
            )
    print(table(rows))


def print_operations(n: int, ours: dict[str, Any]) -> None:
    print(f"\nours, N={n:,}, requests by operation (fields per request in brackets):")
    for scenario in SCENARIOS:
        parts = [
            f"{op} {s['requests']} ({s['fields'] / s['requests']:.0f})"
            for op, s in ours[scenario]["operations"].items()
        ]
        print(f"  ({scenario}) " + ", ".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="comma-separated issue counts (default 1000,10000)"
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=10000,
        help="largest N the naive client really runs; above it, its figures are extrapolated linearly",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    transforms = load_integration(SEED / "extract.yaml", SEED / "transform.yaml").transforms

    print(f"OpsLevel writes: seed sentry_issues mapping, {RATE_LIMIT} requests/minute per token\n")
    naive_base: tuple[int, dict[str, Any]] | None = None
    output: dict[str, Any] = {"rate_limit_per_minute": RATE_LIMIT, "naive_max": args.naive_max, "sizes": {}}
    all_pass = True
    checks: list[tuple[int, list[tuple[str, bool, str]]]] = []
    for n in sizes:
        measured = ["ours", "naive"] if n <= args.naive_max else ["ours"]
        results, changed = run_size(n, transforms, measured)
        if "naive" in results:
            naive_base = (n, results["naive"])
        else:
            if naive_base is None:  # nothing measured yet: measure the naive client at --naive-max
                base_n = args.naive_max
                naive_base = (base_n, run_size(base_n, transforms, ["naive"])[0]["naive"])
            base_n, base = naive_base
            results["naive"] = {s: extrapolate(base[s], n / base_n) for s in SCENARIOS}
            for figures in results["naive"].values():
                figures["extrapolated_from"] = base_n
        print_size(n, results["ours"], results["naive"])
        mismatched = [
            f"{name} ({scenario}): fake {f['requests']}, client {f['client_requests']}"
            for name, runs in results.items()
            for scenario, f in runs.items()
            if not f.get("extrapolated") and f["requests"] != f["client_requests"]
        ]
        print(
            "client counters (OpsLevelClient.requests_sent) vs the fake's log: "
            + ("; ".join(mismatched) if mismatched else "equal for every measured run")
        )
        print_operations(n, results["ours"])
        print()
        checked = targets(n, results["ours"], results["naive"], changed)
        checks.append((n, checked))
        all_pass = all_pass and all(ok for _, ok, _ in checked)
        output["sizes"][str(n)] = {
            "changed": changed,
            **results,
            "targets": [{"target": t, "pass": ok, "detail": d} for t, ok, d in checked],
        }

    print("targets:")
    for n, checked in checks:
        for target, ok, detail in checked:
            print(f"  N={n:<6,} {'PASS' if ok else 'FAIL'}  {target}: {detail}")
    if args.json:
        args.json.write_text(json.dumps(output, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
