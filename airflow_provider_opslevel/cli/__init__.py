"""``opslevel-integration``: check an integration without the scheduler.

``opslevel-integration validate EXTRACT TRANSFORM [--catalog CATALOG]``
    Loads and validates the documents offline (no network, no Airflow import): prints ``OK``
    and a summary, or every problem with file and line on stderr (exit 1). See
    :mod:`~airflow_provider_opslevel.cli.validate`.

``opslevel-integration test EXTRACT TRANSFORM [options]``
    OpsLevel's *Run Test* button from a shell: makes the real HTTP calls (a few pages, a few
    parents) and shows, per extractor, the first raw page and the records kept; per transform,
    the components the records map to; and the plan against OpsLevel (a dry run: nothing is
    written, nothing is ever proposed for deletion). Secrets and the OpsLevel connection are
    Airflow connections, resolved as a task would (environment variables ``AIRFLOW_CONN_*``,
    secrets backends) and, outside a task, also from the metadata database. See
    :mod:`~airflow_provider_opslevel.cli.run_test`.

Exit status: 0 all read and mapped (``validate``: valid), 1 something failed (printed),
2 usage error.

This module holds the parser and :func:`main` (the console script); each command has its own
module, and Airflow is imported only by ``test``, once it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from airflow_provider_opslevel.cli.output import EXIT_FAILED, EXIT_USAGE, PROG
from airflow_provider_opslevel.cli.run_test import cmd_test
from airflow_provider_opslevel.cli.validate import cmd_validate

__all__ = ["build_parser", "main"]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _origin(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    source, target = source.strip().rstrip("/"), target.strip().rstrip("/")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"expected FROM=TO (two URLs joined by '='), got {text!r}")
    for url in (source, target):
        if not url.startswith(("http://", "https://")):
            raise argparse.ArgumentTypeError(f"{url!r} is not an http(s) URL (in {text!r})")
    return source, target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate or test-run an OpsLevel-style custom integration (extract + transform YAML).",
        epilog="Exit status: 0 ok, 1 something failed (printed), 2 usage error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def documents(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("extract", metavar="EXTRACT", help="the extract YAML (extractors:)")
        sub.add_argument(
            "transform", metavar="TRANSFORM", help="the transform YAML (transforms:); may be EXTRACT again"
        )
        sub.add_argument(
            "--catalog", metavar="CATALOG", help="the catalog document (component types, relationships)"
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document instead of text")

    validate = commands.add_parser(
        "validate",
        help="load and validate the documents offline",
        description="Load and validate the documents: no network, no Airflow. Prints OK and a summary, "
        "or every problem (file:line) on stderr and exits 1.",
    )
    documents(validate)

    test = commands.add_parser(
        "test",
        help="Run Test: real calls, first page, records, mapped components, dry-run plan",
        description="Like OpsLevel's Run Test: read a few pages from the source, map the records and plan "
        "against OpsLevel without writing anything. Connections are Airflow connections "
        "(AIRFLOW_CONN_* environment variables, secrets backends or the metadata database).",
    )
    documents(test)
    test.add_argument(
        "--max-pages", type=_count, default=1, metavar="N", help="pages per partition (default 1; 0 = all)"
    )
    test.add_argument(
        "--max-parents",
        type=_count,
        default=3,
        metavar="N",
        help="parent records a for_each child runs for (default 3; 0 = all)",
    )
    test.add_argument(
        "--records", type=_count, default=5, metavar="N", help="records and components shown (default 5)"
    )
    test.add_argument(
        "--conn-id",
        default="opslevel_default",
        metavar="CONN_ID",
        help="the OpsLevel Airflow connection (default opslevel_default)",
    )
    test.add_argument(
        "--rewrite-origin",
        type=_origin,
        action="append",
        default=[],
        metavar="FROM=TO",
        help="point URLs starting with FROM at TO, e.g. https://sentry.io=https://sentry.example.com "
        "(repeatable)",
    )
    test.add_argument(
        "--no-opslevel", action="store_true", help="skip the plan against OpsLevel (extract and map only)"
    )
    test.add_argument("-v", "--verbose", action="store_true", help="show the engine's log on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script. Returns the exit status (``sys.exit(main())``)."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "validate":
        return cmd_validate(args, out, err)
    try:
        return cmd_test(args, out, err)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return EXIT_FAILED
