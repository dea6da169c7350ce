"""``opslevel-integration validate``: offline, every problem with file and line, no Airflow."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_helpers import CATALOG, EXAMPLE, EXTRACT, TRANSFORM

from airflow_provider_opslevel import cli


def test_validate_prints_ok_and_a_summary(capsys):
    assert cli.main(["validate", EXTRACT, TRANSFORM, "--catalog", CATALOG]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK")
    assert "sentry_project" in out and "for_each sentry_project" in out
    assert "sentry_issue -> sentry_issue" in out
    assert "kinds: external sentry_project, sentry_issue; OpsLevel sentry_issue" in out
    assert "secrets: sentry_api_token" in out
    assert "component types sentry_issue (3 properties)" in out


def test_validate_json(capsys):
    assert cli.main(["validate", EXTRACT, TRANSFORM, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert [e["external_kind"] for e in document["extractors"]] == ["sentry_project", "sentry_issue"]
    assert document["extractors"][1]["for_each"] == "sentry_project"
    assert document["kinds"]["opslevel"] == ["sentry_issue"]


def test_validate_reports_every_problem_with_file_and_line(tmp_path, capsys):
    text = (EXAMPLE / "extract.yaml").read_text()
    broken = text.replace("for_each: sentry_project", "for_each: sentry_projet").replace(
        'external_id: ".id"', 'externl_id: ".id"', 1
    )
    extract = tmp_path / "extract.yaml"
    extract.write_text(broken)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text((EXAMPLE / "catalog.yaml").read_text().replace("{type: string}", "{type: strin}", 1))

    assert cli.main(["validate", str(extract), TRANSFORM, "--catalog", str(catalog)]) == 1
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    lines = [line.strip() for line in captured.err.splitlines()]
    for_each_line = broken.splitlines().index("    for_each: sentry_projet") + 1
    assert any(
        line.startswith(f"{extract}:{for_each_line}:") and "did you mean 'sentry_project'" in line
        for line in lines
    ), lines
    assert any(line.startswith(f"{extract}:") and "externl_id" in line for line in lines), lines
    assert any(line.startswith(f"{catalog}:") and "schema" in line for line in lines), lines


def test_validate_missing_file_is_a_problem(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "nope.yaml"), TRANSFORM]) == 1
    assert "nope.yaml" in capsys.readouterr().err


def test_validate_does_not_import_airflow():
    program = (
        "import sys, airflow_provider_opslevel.cli as c\n"
        f"code = c.main(['validate', {EXTRACT!r}, {TRANSFORM!r}, '--catalog', {CATALOG!r}])\n"
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')], 'airflow imported'\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK")
