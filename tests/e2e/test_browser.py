"""The UI as a user sees it: headless Debian chromium against the real api-server of
``airflow_stack`` (tests/e2e/conftest.py), after ``sentry_runs`` ran the example DAG.

Screenshots go to ``artifacts/screenshots/`` (git-ignored): the trigger form, and the grid of
the real run beside the list of its mapped extract tasks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e.browser import AirflowUI, chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

MAPPED_TASK = "extract_sentry_issue"
# The trigger form's fields, by Param name: the titles build_dag gives them.
FORM_FIELDS = {"dry_run": "Dry run", "allow_mass_deletion": "Allow mass deletion"}


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless chromium, started before the stack: a missing browser fails in seconds."""
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def ui(browser: WebDriver, airflow_stack: Any) -> AirflowUI:
    """The browser, logged in to the stack's UI."""
    ui = AirflowUI(browser, airflow_stack.url)
    ui.login(airflow_stack.username, airflow_stack.password)
    return ui


def test_trigger_form_shows_dry_run_and_allow_mass_deletion(
    ui: AirflowUI, airflow_stack: Any, sentry_runs: Any
) -> None:
    dag_id = sentry_runs.dag_id
    declared = airflow_stack.api("GET", f"/api/v2/dags/{dag_id}/details")["params"]

    dialog = ui.open_trigger_form(dag_id)
    assert f"Trigger Dag - {dag_id}" in dialog.text
    for name, title in FORM_FIELDS.items():
        description = declared[name]["description"]
        assert declared[name]["schema"]["title"] == title and description
        switch = dialog.find_element(By.NAME, f"element_{name}")
        # The field's label and help text are the ones the switch itself points at.
        label = dialog.find_element(By.ID, switch.get_attribute("aria-labelledby") or "")
        helper = dialog.find_element(By.ID, switch.get_attribute("aria-describedby") or "")
        assert label.is_displayed() and label.text.removesuffix("*").strip() == title
        assert helper.is_displayed() and helper.text == description
        assert not switch.is_selected(), f"{name} must be off by default"
    ui.settled()
    shot = ui.screenshot(f"{dag_id}-trigger-form")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one


def test_grid_shows_the_mapped_extract_tasks_by_their_labels(
    ui: AirflowUI, airflow_stack: Any, sentry_runs: Any
) -> None:
    dag_id, run_id = sentry_runs.dag_id, sentry_runs.run_id
    mapped = [ti for ti in airflow_stack.task_instances(dag_id, run_id) if ti["task_id"] == MAPPED_TASK]
    labels = sorted(ti["rendered_map_index"] for ti in mapped)
    assert labels and all(labels), f"every mapped {MAPPED_TASK} has a label: {labels}"

    ui.open_mapped_task(dag_id, run_id, MAPPED_TASK)

    def rows(driver: Any) -> list[str] | None:
        table = driver.find_elements(By.CSS_SELECTOR, "[data-testid=table-list] tbody tr")
        texts = [row.text for row in table]
        return texts if len(texts) == len(labels) and all(texts) else None

    shown = ui.wait(f"{len(labels)} rows of mapped {MAPPED_TASK}", rows)
    ui.settled()
    for label in labels:
        assert any(row.startswith(label) and "Success" in row for row in shown), (label, shown)
    text = ui.page_text()
    assert run_id in text and MAPPED_TASK in text  # the breadcrumb and the grid's task list
    for label in labels:
        assert label in text
    for slug in sentry_runs.project_slugs:
        assert slug in text, f"the labels name the Sentry projects by slug: {slug!r} not in {labels}"
    ui.screenshot(f"{dag_id}-mapped-{MAPPED_TASK}")
