"""``python -m airflow_provider_opslevel.testing``: prints the URL line and serves until SIGTERM."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the CLI, wait for its single ``URL=`` line, stop it with SIGTERM on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_opslevel.testing", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"no URL line; stderr: {proc.communicate()[1]}") from None
        match = re.fullmatch(r"URL=(http://127\.0\.0\.1:\d+)\n", first)
        assert match, first
        yield proc, match[1]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert lines.empty()  # exactly one line on stdout


def test_sentry_cli_prints_url_and_serves() -> None:
    args = ("sentry", "--port", "0", "--token", "t0k", "--projects", "2", "--page-size", "1")
    with running(*args) as (_, url):
        headers = {"Authorization": "Bearer t0k"}
        first = requests.get(f"{url}/api/0/projects/", headers=headers, timeout=10)
        assert first.status_code == 200 and len(first.json()) == 1
        assert f"<{url}/api/0/projects/?&cursor=0:1:0>" in first.headers["Link"]
        issues = requests.get(
            f"{url}/api/0/projects/opslevel/backend-api/issues/", headers=headers, timeout=10
        )
        assert issues.status_code == 200 and len(issues.json()) == 1


def test_opslevel_cli_with_catalog_and_port_file(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "componentTypes": [
                    {
                        "alias": "sentry_issue",
                        "name": "Sentry Issue",
                        "properties": {"url": {"name": "URL", "schema": {"type": "string"}}},
                    }
                ],
                "components": [{"name": "Backend API", "aliases": ["backend-api"]}],
            }
        )
    )
    port_file = tmp_path / "url.txt"
    with running("opslevel", "--catalog", str(catalog), "--port-file", str(port_file)) as (_, url):
        assert port_file.read_text().strip() == url
        snapshot = requests.get(f"{url}/__catalog", timeout=10).json()
        assert [c["managedAliases"] for c in snapshot["components"]] == [["backend-api"]]
        query = {"query": '{ account { service(alias: "backend-api") { name } } }'}
        assert requests.post(f"{url}/graphql", json=query, timeout=10).status_code == 401
        answer = requests.post(
            f"{url}/graphql", json=query, headers={"Authorization": "Bearer opslevel-test-token"}, timeout=10
        )
        assert answer.json() == {"data": {"account": {"service": {"name": "Backend API"}}}}


def test_fake_sentry_import_does_not_need_graphql() -> None:
    code = (
        "import sys; from airflow_provider_opslevel.testing import FakeSentry; "
        "assert 'graphql' not in sys.modules and 'airflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
