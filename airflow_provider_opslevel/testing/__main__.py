"""Run a fake until SIGTERM/SIGINT.

Usage::

    python -m airflow_provider_opslevel.testing sentry [--port 0] [--token T] [--org ORG]
        [--projects N] [--issues N] [--page-size N] [--seed N] [--resolved-every N]
        [--port-file PATH]
    python -m airflow_provider_opslevel.testing opslevel [--port 0] [--token T]
        [--catalog FILE.json] [--rate-limit N] [--rate-limit-period SECONDS] [--port-file PATH]

Prints exactly one line, ``URL=http://127.0.0.1:PORT``, to stdout once serving;
``--port-file`` also writes the URL (atomically) to PATH. ``--catalog`` pre-seeds the fake
OpsLevel from a JSON file shaped like ``GET /__catalog`` (see ``FakeOpsLevel.seed``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from airflow_provider_opslevel.testing._server import FakeHTTPServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_opslevel.testing",
        description="Run a fake Sentry or OpsLevel server.",
    )
    fakes = parser.add_subparsers(dest="fake", required=True)
    sentry = fakes.add_parser("sentry", help="fake Sentry web API")
    opslevel = fakes.add_parser("opslevel", help="fake OpsLevel GraphQL API")
    for sub in (sentry, opslevel):
        sub.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
        sub.add_argument("--token", help="accepted bearer token (default: the fake's default)")
        sub.add_argument("--port-file", type=Path, help="also write the URL to this file")
    sentry.add_argument("--org", default="opslevel", help="organization slug")
    sentry.add_argument("--projects", type=int, default=3, help="number of projects")
    sentry.add_argument("--issues", type=int, default=5, help="issues per project")
    sentry.add_argument("--page-size", type=int, default=100, help="default page size of lists")
    sentry.add_argument("--seed", type=int, default=0, help="data generator seed")
    sentry.add_argument("--resolved-every", type=int, default=0, help="every Nth issue resolved/ignored")
    opslevel.add_argument("--catalog", type=Path, help="JSON file to pre-seed the catalog with")
    opslevel.add_argument(
        "--rate-limit", type=int, help="requests per period and token, then HTTP 429 (real API: 400)"
    )
    opslevel.add_argument(
        "--rate-limit-period", type=float, default=60.0, help="rate-limit sliding window in seconds"
    )
    return parser


def _build(args: argparse.Namespace) -> FakeHTTPServer:
    token: dict[str, Any] = {"token": args.token} if args.token else {}
    if args.fake == "sentry":
        from airflow_provider_opslevel.testing.fake_sentry import FakeSentry

        return FakeSentry(
            org=args.org,
            projects=args.projects,
            issues_per_project=args.issues,
            page_size=args.page_size,
            seed=args.seed,
            resolved_every=args.resolved_every,
            port=args.port,
            **token,
        )
    from airflow_provider_opslevel.testing.fake_opslevel import FakeOpsLevel

    fake = FakeOpsLevel(
        port=args.port, rate_limit=args.rate_limit, rate_limit_period=args.rate_limit_period, **token
    )
    if args.catalog:
        fake.seed(json.loads(args.catalog.read_text("utf-8")))
    return fake


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    fake = _build(args)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    url = fake.start()
    try:
        if args.port_file:
            partial = args.port_file.with_name(args.port_file.name + ".tmp")
            partial.write_text(url + "\n", "utf-8")
            os.replace(partial, args.port_file)
        sys.stdout.write(f"URL={url}\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
