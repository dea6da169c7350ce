"""One redactor for every output path: raw, JSON-escaped, repr and URL-encoded forms of each secret."""

from __future__ import annotations

import json
import pickle
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, connections, environment

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.results import to_chunks
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.redaction import REDACTED, Redactor, secret_forms
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeOpsLevel

# A quote, a backslash and non-ASCII (JSON escapes them); '/', '+', ' ' and '&' (URLs encode them).
SECRET = 'p/w+d "q\\ é&x-7'


def forms(value: str = SECRET) -> list[str]:
    return [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
    ]


def assert_hidden(text: str, value: str = SECRET) -> None:
    for form in forms(value):
        assert form not in text, f"{form!r} survived in {text!r}"


def test_every_form_is_replaced_and_the_forms_differ():
    assert len(set(forms())) >= 5  # the secret really exercises each encoding
    redactor = Redactor([SECRET])
    for form in forms():
        assert redactor(f"<{form}>") == f"<{REDACTED}>"
    assert secret_forms(SECRET) == set(forms())


def test_longest_first_and_short_values_ignored():
    redactor = Redactor(["abcd", "abcdef", "ab", ""])
    assert redactor("abcdefg abcd ab") == "***g *** ab"
    assert redactor.values == ["abcdef", "abcd"]


def test_redact_data_hides_keys_and_nested_values():
    redactor = Redactor([SECRET])
    data = {SECRET: [quote(SECRET), (json.dumps(SECRET),), 3, None], "ok": {"v": f"x{SECRET}"}}
    assert redactor.redact_data(data) == {"***": ["***", ['"***"'], 3, None], "ok": {"v": "x***"}}


def test_values_added_while_others_redact():
    redactor = Redactor()
    values = [f"secret-{n:04d}" for n in range(200)]
    threads = [threading.Thread(target=redactor.add, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redactor(" ".join(values)) == " ".join([REDACTED] * 200)


def test_on_add_gets_every_form_once():
    seen: list[str] = []
    redactor = Redactor(on_add=seen.append)
    redactor.add(SECRET)
    redactor.add(SECRET)
    assert sorted(seen) == sorted(secret_forms(SECRET))


def test_secret_recorder_and_oauth_share_one_redactor():
    recorder = SecretRecorder(lambda name: SECRET)
    recorder("token")
    assert recorder.redact(json.dumps({"url": f"https://x/?t={quote_plus(SECRET)}", "raw": SECRET})) == (
        '{"url": "https://x/?t=***", "raw": "***"}'
    )
    assert recorder.redactor.values == [SECRET]


def test_threads_asking_for_one_secret_at_once_resolve_it_once_and_get_it_redactable():
    calls: list[str] = []
    masked: list[str] = []
    started = threading.Barrier(8)

    def resolve(name: str) -> str:
        calls.append(name)
        threading.Event().wait(0.05)  # a connection lookup: long enough for every thread to ask
        return SECRET

    recorder = SecretRecorder(resolve, on_value=masked.append)

    def ask(_: int) -> str:
        started.wait()
        value = recorder("token")
        assert recorder.redact(value) == REDACTED  # no thread holds a value the redactor lacks
        return value

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(ask, range(8))) == [SECRET] * 8
    assert calls == ["token"] and masked == [SECRET]


def test_exceptions_are_redacted_in_place_with_their_chain_and_stay_picklable():
    redactor = Redactor([SECRET])
    with pytest.raises(OpsLevelIntegrationError) as info:
        with redactor.errors_redacted():
            try:
                raise KeyError(quote(SECRET))
            except KeyError:
                raise OpsLevelIntegrationError(f"bad answer: {json.dumps({'t': SECRET})}") from None
    assert_hidden(str(info.value))
    assert_hidden(repr(info.value.__context__))
    assert_hidden("".join(traceback.format_exception(info.value)))
    assert_hidden(str(pickle.loads(pickle.dumps(info.value))))


def test_the_cli_way_report_json_text_and_traceback():
    """The CLI redacts its JSON report, its text and any traceback with one Redactor holding the
    template secrets (a SecretRecorder's values) and the connection passwords it looked up."""
    recorder = SecretRecorder(lambda name: SECRET)
    recorder("sentry_api_token")
    redactor = Redactor([*recorder.values, "opslevel-password"])
    report = {
        "extractors": [{"first_page": {"next": f"https://api/?cursor=1&token={quote_plus(SECRET)}"}}],
        "records": [{"external_id": SECRET, "data": {"title": f"leaked {SECRET}"}}],
        "problems": [f"GET https://api/x?key={quote(SECRET, safe='')} failed: HTTP 401"],
    }
    assert_hidden(redactor(json.dumps(report, indent=2)))
    assert_hidden(redactor(json.dumps(report, indent=2, ensure_ascii=False)))
    assert_hidden(json.dumps(redactor.redact_data(report)))
    assert_hidden(redactor("\n".join(str(p) for p in report["problems"])))
    try:
        raise RuntimeError(f"could not read {report['extractors']!r}")
    except RuntimeError:
        assert_hidden(redactor(traceback.format_exc()))


# --------------------------------------------------------------------------- the Airflow operators

EXTRACT = """\
extractors:
- external_kind: deploy
  iterator: .deploys
  external_id: .id
- external_kind: service
  iterator: .
  external_id: .id
  http_polling:
    url: "https://api.example.com/services?key={{ 'redaction_api_key' | secret }}"
"""
TRANSFORM = """\
transforms:
- external_kind: deploy
  on_component_not_found: create
  opslevel_kind: deploy
  opslevel_identifier: '"deploy-" + .id'
  properties:
    name: .service
"""


class TaskInstance:
    """The two calls the transform operator makes on ``context["ti"]``."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, task_ids: list[str]) -> list[Any]:
        return self.values

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def documents(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "extract.yaml").write_text(EXTRACT)
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    return str(tmp_path / "extract.yaml"), str(tmp_path / "transform.yaml")


@pytest.fixture
def opslevel() -> Any:
    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as fake:
        fake.add_component_type("deploy", "Deploy")
        with environment(**connections(fake.url, redaction_api_key=SECRET)):
            yield fake


def deploys(*names: str) -> list[Any]:
    records = [
        {"external_id": str(n), "data": {"id": str(n), "service": name}} for n, name in enumerate(names)
    ]
    return [to_chunks("deploy", [PartitionResult("deploy", None, records=records, pages=1, complete=True)])]


def test_transform_task_log_and_xcom_report_hide_every_form(documents, opslevel, capsys):
    from airflow_provider_opslevel.operators.transform import OpsLevelTransformOperator

    extract, transform = documents
    operator = OpsLevelTransformOperator(
        task_id="transform", extract=extract, transform=transform, extract_task_ids=["deploy"], plan_only=True
    )
    # Raw and URL-encoded in the data; the plan's text and JSON escape the raw one themselves.
    names = [
        f"svc {SECRET}",
        f"svc {quote(SECRET)}",
        f"svc {quote_plus(SECRET)}",
        f"svc {quote(SECRET, safe='')}",
    ]
    report = operator.execute({"params": {}, "ti": TaskInstance(deploys(*names))})  # type: ignore[arg-type]
    text = json.dumps(report)
    assert "svc ***" in text and report["counts"]
    assert_hidden(text)
    assert_hidden(json.dumps(report, ensure_ascii=False))
    captured = capsys.readouterr()
    logged = captured.out + captured.err  # the task logger writes through structlog
    assert "Dry-run plan" in logged and "svc ***" in logged
    assert_hidden(logged)


def test_push_task_exception_hides_every_form(documents, opslevel):
    from airflow_provider_opslevel.operators.push import OpsLevelPushOperator

    extract, transform = documents
    operator = OpsLevelPushOperator(task_id="push", extract=extract, transform=transform)
    params = {"payload": {"deploys": []}, "external_kind": f"kind {SECRET} {quote_plus(SECRET)}"}
    with pytest.raises(OpsLevelIntegrationError, match="is not a push extractor") as info:
        operator.execute({"params": params})  # type: ignore[arg-type]
    assert_hidden(str(info.value))
    assert_hidden("".join(traceback.format_exception(info.value)))


def test_opslevel_client_errors_hide_the_token():
    from airflow_provider_opslevel.opslevel.client import OpsLevelApiError, OpsLevelClient

    token = "tok/en+" + "x" * 8
    with FakeOpsLevel(token="another-token") as fake:
        client = OpsLevelClient(fake.url, token, requests_per_minute=None)
        client.session.headers["Authorization"] = f"Bearer {token}"
        with pytest.raises(OpsLevelApiError) as info:
            client.execute("query AccountId { account { id } }")
    message = f"{info.value} {json.dumps(str(info.value))}"
    assert "HTTP 401" in message or "HTTP 403" in message
    assert_hidden(message, token)
    assert client.redactor.values == [token]
