"""Partitions of one extractor are read concurrently, bounded, in the parents' order."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from test_runner import integration_from, runner_for

from airflow_provider_opslevel.extract.parallel import run_partitions


def test_partitions_run_concurrently_within_the_bound_and_keep_their_order(api: Any, tmp_path: Path):
    lock = threading.Lock()
    in_flight = {"now": 0, "peak": 0}

    def handler(method, path, query, headers, body):
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        time.sleep(0.2)
        with lock:
            in_flight["now"] -= 1
        parent = path.rsplit("/", 1)[-1]
        return 200, {}, [{"id": f"{parent}-a"}, {"id": f"{parent}-b"}]

    api.handler = handler
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: parent
          external_id: .id
          http_polling: {{url: "{api.url}/parents"}}
        - external_kind: thing
          external_id: .id
          http_polling:
            for_each: parent
            url: "{api.url}/things/{{{{ parent.id }}}}"
        """,
    )
    parents = [{"external_id": str(i), "data": {"id": i}} for i in range(9)]
    started = time.monotonic()
    results = run_partitions(runner_for(integration.extractor("thing")), parents, concurrency=3)
    elapsed = time.monotonic() - started
    assert [r.parent for r in results] == [p["external_id"] for p in parents]
    assert all(
        r.complete and [x["external_id"] for x in r.records] == [f"{r.parent}-a", f"{r.parent}-b"]
        for r in results
    )
    assert in_flight["peak"] == 3
    assert elapsed < 9 * 0.2  # one at a time takes at least 1.8 s; in_flight shows the overlap
