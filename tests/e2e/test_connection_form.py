"""The OpsLevel connection form as a real api-server serves it to the UI, on every supported Airflow."""

from __future__ import annotations

from e2e.e2e_stack import E2EAirflow


def test_the_ui_gets_the_opslevel_form_with_its_fields_and_labels(airflow_stack: E2EAirflow):
    # What the UI's connection form is built from: 3.1 fills it from the hook's methods, 3.2+ from
    # the provider's declarative conn-fields; either way the same fields, each once.
    forms = airflow_stack.api("GET", "/ui/connections/hook_meta")
    (form,) = [f for f in forms if f["connection_type"] == "opslevel"]
    assert form["hook_name"] == "OpsLevel"
    standard = form["standard_fields"]
    assert standard["host"]["title"] == "API base URL"
    assert standard["host"]["placeholder"] == "https://app.opslevel.com"
    assert standard["password"]["title"] == "API token"
    assert {name for name, field in standard.items() if field and field["hidden"]} == {
        "url_schema",
        "login",
        "port",
    }
    extras = form["extra_fields"]
    assert list(extras) == ["timeout", "requests_per_minute", "batch_size"]
    assert [(f["schema"]["title"], f["value"]) for f in extras.values()] == [
        ("Read timeout (seconds)", 60),
        ("Requests per minute", 400),
        ("Mutations per request", 50),
    ]
