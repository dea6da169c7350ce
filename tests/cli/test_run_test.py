"""``opslevel-integration test`` (Run Test) over real HTTP against both fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections, environment
from cli_helpers import (
    EXAMPLE,
    SCRIPT,
    SENTRY_PROPERTIES,
    issue_paths,
    mutation_queries,
    project_requests,
    run_test,
)

from airflow_provider_opslevel import cli
from airflow_provider_opslevel.cli.output import JSON_PAGE_CHARS, JSON_VALUE_CHARS
from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry
from airflow_provider_opslevel.testing._server import json_response


def test_run_test_shows_page_records_components_and_plan_and_writes_nothing(fakes, capsys):
    sentry, opslevel = fakes
    code = cli.main(run_test(sentry))
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err + out

    first, second = sentry.projects[:2]
    # Projects: the first raw page, pretty-printed, then the records it kept.
    assert "== extractor sentry_project (GET, root; 1 request(s)) ==" in out
    assert "First raw page:" in out and f'"slug": "{first["slug"]}"' in out
    assert "Records: 2 item(s), 0 excluded, 2 kept; 1 page(s) from 1 partition(s); complete: no" in out
    assert "stopped after --max-pages 1 (more pages exist)" in out
    assert f"  {first['id']}  " in out and f"  {second['id']}  " in out
    # Issues: one page for each of the two parents read.
    issues = [i for p in (first, second) for i in sentry.visible_issues(p["id"])[:2]]
    assert "for_each sentry_project: 2 of 2 parent record(s)" in out
    assert f"First raw page (parent {first['id']}):" in out
    assert "Records: 4 item(s), 0 excluded, 4 kept; 2 page(s) from 2 partition(s); complete: no" in out
    # The mapped components, then the plan: every one a create, with its field-level diff.
    assert "== transform sentry_issue -> sentry_issue ==" in out
    assert "4 record(s): 4 mapped, 0 skipped, 0 failed" in out
    for issue in issues:
        assert f"  sentry_issue {issue['id']}  (from sentry_issue:{issue['id']}" in out
    assert f'properties.project_slug: "{first["slug"]}"' in out
    assert "dry run, nothing written" in out
    assert "create (4):" in out
    assert f'properties.project_slug: ["{first["slug"]}"]' in out
    assert "Deletions: none planned" in out
    assert out.rstrip().endswith("Result: OK")

    assert len(sentry.requests) == 3  # one page of projects, one page of issues per parent
    assert opslevel.requests and not mutation_queries(opslevel)
    assert opslevel.components() == []
    assert SENTRY_TOKEN not in out + captured.err and OPSLEVEL_TOKEN not in out + captured.err


def test_run_test_plans_against_an_existing_type_without_a_catalog(fakes, capsys):
    sentry, opslevel = fakes
    opslevel.add_component_type("sentry_issue", "Sentry Issue", properties=SENTRY_PROPERTIES)
    assert cli.main([*run_test(sentry, "--records", "1", catalog=False)]) == 0
    out = capsys.readouterr().out
    assert "First 1 of 4 component(s):" in out
    assert "create (4):" in out
    assert not mutation_queries(opslevel)


def test_run_test_respects_max_pages_and_max_parents(capsys):
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=6, issues_per_project=5, page_size=2) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        with environment(**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN)):
            code = cli.main(run_test(sentry, "--max-pages", "2", "--max-parents", "2", "--no-opslevel"))
        out = capsys.readouterr().out
        assert code == 0
        # Projects: 2 pages of 2 (the third project, payments-production, is excluded).
        assert len(project_requests(sentry)) == 2
        kept = [p for p in sentry.projects[:4] if "production" not in p["name"]]
        assert "Records: 4 item(s), 1 excluded, 3 kept; 2 page(s)" in out
        # Issues: only the first 2 parents, 2 pages each.
        parents = [p["id"] for p in kept[:2]]
        assert sorted(issue_paths(sentry)) == sorted(
            f"/api/0/projects/opslevel/{parent}/issues/" for parent in parents for _ in range(2)
        )
        assert "2 of 3 parent record(s), --max-parents 2" in out
        assert "Records: 8 item(s), 0 excluded, 8 kept; 4 page(s) from 2 partition(s)" in out
        assert "plan against OpsLevel: skipped (--no-opslevel)" in out
        assert opslevel.requests == []

        sentry.reset_log()
        with environment(**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN)):
            assert cli.main(run_test(sentry, "--max-pages", "0", "--max-parents", "0", "--no-opslevel")) == 0
        out = capsys.readouterr().out
        assert len(project_requests(sentry)) == 3  # every page
        assert len({path for path in issue_paths(sentry)}) == 5  # every parent (one excluded)
        assert "complete: yes" in out


def test_run_test_json_parses(fakes, capsys):
    sentry, opslevel = fakes
    assert cli.main(run_test(sentry, "--json", "--records", "2")) == 0
    out = capsys.readouterr().out
    document = json.loads(out)
    assert document["ok"] is True and document["problems"] == []
    projects, issues = document["extractors"]
    assert projects["external_kind"] == "sentry_project"
    assert projects["first_page"]["page"][0]["id"] == sentry.projects[0]["id"]  # a small page whole
    assert projects["totals"] == {
        "partitions": 1,
        "pages": 1,
        "items": 2,
        "excluded": 0,
        "kept": 2,
        "rejected": 0,
        "duplicates": 0,
        "complete": False,
        "failed": 0,
    }
    assert issues["parents"] == {"kind": "sentry_project", "available": 2, "read": 2}
    assert len(issues["records"]) == 2
    (transform,) = document["transforms"]
    assert transform["mapped"] == 4 and len(transform["components"]) == 2
    component = transform["components"][0]
    assert set(component) >= {"alias", "fields", "properties", "tags"}
    assert document["plan"]["counts"]["sentry_issue"]["create"] == 4
    assert document["plan"]["report"]["counts"]["sentry_issue"]["create"] == 4
    assert "Deletions: none planned" in document["plan"]["deletions"]
    assert not mutation_queries(opslevel)
    assert SENTRY_TOKEN not in out


def test_run_test_never_prints_a_secret_even_when_the_api_echoes_it(fakes, capsys):
    sentry, _ = fakes

    def echo(info: dict[str, Any]) -> Any:
        if info["path"] != "/api/0/projects/":
            return None
        seen = info["headers"].get("authorization")
        return json_response(200, [{"id": sentry.projects[0]["id"], "name": "Echo", "seen": seen}])

    sentry.faults.append(echo)
    for extra in ([], ["--json"]):
        assert cli.main(run_test(sentry, *extra)) == 0
        captured = capsys.readouterr()
        assert SENTRY_TOKEN not in captured.out + captured.err
        assert OPSLEVEL_TOKEN not in captured.out + captured.err
        assert "Bearer ***" in captured.out


def test_run_test_with_a_wrong_token_exits_1_and_says_why(fakes, capsys):
    sentry, opslevel = fakes
    wrong = "wrong-sentry-token-123"
    with environment(**connections(opslevel.url, sentry_api_token=wrong)):
        code = cli.main(run_test(sentry))
    captured = capsys.readouterr()
    assert code == 1
    assert (
        "extract sentry_project: " in captured.out and "extractors[0] (sentry_project): GET" in captured.out
    )
    assert "answered HTTP 401" in captured.out
    assert "Invalid token" in captured.out and "sentry_api_token" in captured.out
    assert "no sentry_project record was read" in captured.out
    assert "FAILED" in captured.err
    assert wrong not in captured.out + captured.err
    assert issue_paths(sentry) == []


def test_run_test_with_a_missing_secret_says_how_to_create_it(fakes, capsys):
    sentry, _ = fakes
    os.environ.pop("AIRFLOW_CONN_SENTRY_API_TOKEN")
    code = cli.main(run_test(sentry))
    out = capsys.readouterr().out
    assert code == 1
    assert "there is no Airflow connection 'sentry_api_token'" in out
    assert "airflow connections add sentry_api_token" in out and "AIRFLOW_CONN_SENTRY_API_TOKEN" in out
    assert sentry.requests == []


def test_run_test_without_an_opslevel_connection(fakes, capsys):
    sentry, opslevel = fakes
    os.environ.pop("AIRFLOW_CONN_OPSLEVEL_DEFAULT")
    assert cli.main(run_test(sentry, "--conn-id", "opslevel_default")) == 1
    out = capsys.readouterr().out
    assert "there is no Airflow connection 'opslevel_default'" in out
    assert "--conn-type opslevel" in out and "--no-opslevel" in out
    assert "4 record(s): 4 mapped" in out  # extraction and mapping still shown

    assert cli.main(run_test(sentry, "--no-opslevel")) == 0
    assert opslevel.requests == []


def test_run_test_with_a_wrong_opslevel_token(fakes, capsys):
    sentry, opslevel = fakes
    env = connections(opslevel.url)
    env["AIRFLOW_CONN_OPSLEVEL_DEFAULT"] = env["AIRFLOW_CONN_OPSLEVEL_DEFAULT"].replace(
        OPSLEVEL_TOKEN, "wrong-opslevel-token"
    )
    with environment(**env):
        assert cli.main(run_test(sentry)) == 1
    captured = capsys.readouterr()
    assert "OpsLevel (connection 'opslevel_default')" in captured.out and "401" in captured.out
    assert "wrong-opslevel-token" not in captured.out + captured.err


def test_run_test_reads_connections_from_the_metadata_db(airflow_db, fakes, tmp_path):
    """Outside a task the Task SDK reads only env vars and secrets backends; the CLI also reads the DB.

    Both commands run as subprocesses: they share the session's airflow.cfg (and so its Fernet key).
    """
    sentry, _ = fakes
    name = "cli_db_sentry_token"
    extract = tmp_path / "extract.yaml"
    extract.write_text((EXAMPLE / "extract.yaml").read_text().replace("'sentry_api_token'", f"'{name}'"))
    airflow = Path(sys.executable).parent / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    subprocess.run(
        [str(airflow), "connections", "add", name, "--conn-type", "generic", "--conn-password", SENTRY_TOKEN],
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        result = subprocess.run(
            [str(SCRIPT), *run_test(sentry, "--no-opslevel", extract=str(extract))],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "4 record(s): 4 mapped" in result.stdout
        assert SENTRY_TOKEN not in result.stdout + result.stderr
        assert sentry.requests[0]["headers"]["authorization"] == f"Bearer {SENTRY_TOKEN}"
    finally:
        subprocess.run([str(airflow), "connections", "delete", name], capture_output=True, env=env)


@pytest.fixture
def huge_page(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """An API whose one page is 20 MB (10 items of 2 MB, 252-character ids).

    Yields the extract and transform paths and the page's length as compact JSON."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    items = [{"id": f"{n}-" + "i" * 250, "blob": "x" * 2_000_000} for n in range(10)]
    raw = json.dumps(items).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    extract = tmp_path / "extract.yaml"
    extract.write_text(
        "extractors:\n- external_kind: blob\n  external_id: .id\n  http_polling:\n"
        f"    url: http://127.0.0.1:{server.server_address[1]}/blobs\n"
    )
    transform = tmp_path / "transform.yaml"
    transform.write_text(
        "transforms:\n- external_kind: blob\n  opslevel_kind: service\n  opslevel_identifier: .id\n"
        "  on_component_not_found: suggest\n  properties:\n    blob: .blob\n"
    )
    try:
        yield str(extract), str(transform), len(json.dumps(items, separators=(",", ":")))
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_run_test_caps_what_it_prints_of_a_20_mb_page(huge_page, capsys, as_json):
    extract, transform, size = huge_page
    argv = ["test", extract, transform, "--no-opslevel", "--records", "5", *(["--json"] if as_json else [])]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert len(out) < 150_000  # of a 20 MB page, five 2 MB records and five components
    if as_json:
        document = json.loads(out)
        (entry,) = document["extractors"]
        assert entry["totals"]["kept"] == 10 and len(entry["records"]) == 5
        page = entry["first_page"]["page"]
        assert page.startswith('[{"id":"0-iii') and page.endswith(f"... (truncated, {size} characters)")
        assert len(page) < JSON_PAGE_CHARS + 100
        record = entry["records"][0]
        assert record["data"].startswith('{"id":"0-iii') and record["data"].endswith("characters)")
        assert len(record["data"]) < JSON_VALUE_CHARS + 100
        assert record["external_id"] == "0-" + "i" * 198 + "... (truncated, 252 characters)"
        component = document["transforms"][0]["components"][0]
        assert len(component["properties"]["blob"]) < JSON_VALUE_CHARS + 100
        assert "truncated" in component["properties"]["blob"]
    else:
        assert "... truncated: showing" in out and "First 5 of 10 record(s)" in out
        assert max(len(line) for line in out.splitlines()) < 5000


def test_run_test_maps_each_record_once(fakes, capsys, monkeypatch):
    """The components shown and the plan come from one mapping of each record."""
    from airflow_provider_opslevel.transform import mapping

    sentry, _ = fakes
    mapped: list[str] = []
    map_record = mapping.map_record

    def counting(transform: Any, record: dict[str, Any]) -> Any:
        mapped.append(record["external_id"])
        return map_record(transform, record)

    monkeypatch.setattr(mapping, "map_record", counting)
    assert cli.main(run_test(sentry, "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    (transform,) = document["transforms"]
    assert document["plan"]["counts"]["sentry_issue"]["create"] == transform["records"] == 4
    assert sorted(mapped) == sorted({*mapped}) and len(mapped) == 4


def test_run_test_hides_a_secret_echoed_json_escaped_or_url_encoded(capsys):
    secret = 'sentry "token"/with+odd&chars=\\ok'
    with (
        FakeSentry(token=secret, projects=2, issues_per_project=1) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):

        def echo(info: dict[str, Any]) -> Any:
            if info["path"] != "/api/0/projects/":
                return None
            seen = info["headers"]["authorization"].removeprefix("Bearer ")
            project = {
                "id": sentry.projects[0]["id"],
                "name": "Echo",
                "seen": seen,
                "quoted": quote(seen, safe=""),
                "form": quote_plus(seen),
            }
            return json_response(200, [project])

        sentry.faults.append(echo)
        for extra in ([], ["--json"]):
            with environment(**connections(opslevel.url, sentry_api_token=secret)):
                assert cli.main(run_test(sentry, *extra)) == 0
            captured = capsys.readouterr()
            assert "quoted" in captured.out and "***" in captured.out  # shown, its secret hidden
            for form in (secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)):
                assert form not in captured.out + captured.err
