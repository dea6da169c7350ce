"""ExtractionSession: one fetcher, throttle and OAuth token for every extractor of a run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from test_oauth import CLIENT_ID, CLIENT_SECRET, EXTRACT, SECRETS, TRANSFORM, api_requests
from test_runner import integration_from

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.session import ExtractionSession
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeSentry


def test_parents_then_children_share_one_fetcher_and_one_oauth_token(tmp_path: Path):
    (tmp_path / "extract.yaml").write_text(EXTRACT)  # an oauth: block, projects and their issues
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    integration = load_integration(tmp_path / "extract.yaml", tmp_path / "transform.yaml")
    secrets = SecretRecorder(lambda name: SECRETS.get(name, "static-token"))
    tokens: list[str] = []
    with (
        FakeSentry(
            token="static-token", projects=5, page_size=2, oauth_clients={CLIENT_ID: CLIENT_SECRET}
        ) as fake,
        ExtractionSession(
            integration, secrets, origins={"https://sentry.io": fake.url}, on_token=tokens.append
        ) as session,
    ):
        (projects,) = session.run("sentry_project")
        issues = session.run("sentry_issue", projects.records)

    assert projects.complete and len(projects.records) == 5
    assert [p.parent for p in issues] == [r["external_id"] for r in projects.records]
    assert all(p.complete and p.records for p in issues)
    assert fake.token_requests == 1 and len(tokens) == 1  # one token for both extractors
    assert session.requests_sent == len(api_requests(fake))  # the token request is OAuth's own
    assert fake.internal_errors == []
    text = session.redact(f"token {tokens[0]}, client secret {CLIENT_SECRET}")
    assert tokens[0] not in text and CLIENT_SECRET not in text


def test_partitions_run_at_the_session_concurrency_unless_told_otherwise(api: Any, tmp_path: Path):
    lock = threading.Lock()
    in_flight = {"now": 0, "peak": 0}

    def handler(method, path, query, headers, body):
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        time.sleep(0.1)
        with lock:
            in_flight["now"] -= 1
        return 200, {}, [{"id": path.rsplit("/", 1)[-1]}]

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
    parents = [{"external_id": str(i), "data": {"id": i}} for i in range(6)]
    with ExtractionSession(integration, SecretRecorder(lambda name: ""), concurrency=3) as session:
        assert session.throttle.max_concurrency == 3
        together = session.run("thing", parents)
        peak_together, in_flight["peak"] = in_flight["peak"], 0
        in_turn = session.run("thing", parents, concurrency=1)
    assert peak_together == 3 and in_flight["peak"] == 1
    for results in (together, in_turn):
        assert [r.parent for r in results] == [p["external_id"] for p in parents]
    assert session.requests_sent == 12


def test_runner_options_reach_every_runner(api: Any, tmp_path: Path):
    api.handler = lambda *a: (200, {}, [{"id": 1}])
    integration = integration_from(
        tmp_path,
        """
        extractors:
        - external_kind: thing
          external_id: .id
          http_polling: {url: "https://api.example.com/things"}
        """,
    )
    with ExtractionSession(
        integration,
        SecretRecorder(lambda name: ""),
        origins={"https://api.example.com": api.url},
        max_pages=1,
        allowed_origins=["https://cdn.example.com"],
        max_body_bytes=1000,
        keep_first_page=True,
    ) as session:
        runner = session.runner("thing")
        (result,) = session.run("thing")
    assert runner.fetcher is session.fetcher
    assert (runner.max_pages, runner.max_body_bytes, runner.keep_first_page) == (1, 1000, True)
    assert runner.origins == {"https://api.example.com": api.url}
    assert result.complete and result.first_page == [{"id": 1}]


def test_the_session_imports_no_airflow():
    code = (
        "import sys, airflow_provider_opslevel.extract.session\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)
