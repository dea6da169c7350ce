"""``opslevel-integration validate``: load and check the documents offline; never imports Airflow."""

from __future__ import annotations

import argparse
from typing import IO

from airflow_provider_opslevel.cli.documents import load_documents, summary, summary_text
from airflow_provider_opslevel.cli.output import EXIT_FAILED, EXIT_OK, dump


def cmd_validate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Print ``OK`` and what the documents declare, or every problem on ``err`` (exit 1)."""
    integration, document, problems = load_documents(args.extract, args.transform, args.catalog)
    if problems or integration is None:
        if args.json:
            print(dump({"ok": False, "problems": problems}, indent=2), file=out)
        print(f"{len(problems)} problem(s):", file=err)
        for problem in problems:
            print(f"  {problem}", file=err)
        return EXIT_FAILED
    info = summary(integration, document)
    if args.json:
        print(dump({"ok": True, "problems": [], **info}, indent=2), file=out)
        return EXIT_OK
    files = [args.extract] if args.extract == args.transform else [args.extract, args.transform]
    if args.catalog:
        files.append(args.catalog)
    print(f"OK: {', '.join(files)}", file=out)
    for line in summary_text(info):
        print(line, file=out)
    return EXIT_OK
