"""Headless Debian chromium driving Airflow's UI: start, log in, wait for content, screenshot.

Only Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` are used: the driver's path is
given to Selenium's ``Service``, so Selenium Manager never looks for (or downloads) a browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_COMMAND = "sh scripts/ensure_debian_packages.sh chromium chromium-driver"
WINDOW = (1400, 1000)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI: chromium's sandbox refuses to start as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a small /dev/shm in containers crashes renderers
    "--disable-background-networking",  # no update checks or other traffic off this machine
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)
_T = TypeVar("_T")
_SETTLED = """
const loading = '.chakra-spinner, .chakra-skeleton, [aria-busy=true], [data-state=indeterminate]';
return document.readyState === 'complete'
    && ![...document.querySelectorAll(loading)].some(e => e.checkVisibility({visibilityProperty: true}))
    && document.getAnimations().every(
        a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity);
"""


def require_chromium() -> None:
    """Fail (never skip) when Debian's chromium or its driver is missing, naming the fix."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's chromium and chromedriver; missing: {', '.join(missing)}. "
            f"Install them with `{INSTALL_COMMAND}` (`make install` runs it).",
            pytrace=False,
        )


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium session (quit on exit); chromedriver's own log is not kept, as it
    would hold every typed key, the login's password included."""
    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


class AirflowUI:
    """Airflow 3's React UI seen through one browser session.

    :param driver: the browser.
    :param base_url: the api-server, e.g. ``http://127.0.0.1:8080``.
    :param timeout: seconds any one wait may take (the machine is shared: generous).
    """

    def __init__(self, driver: WebDriver, base_url: str, timeout: float = 60.0) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def wait(self, what: str, condition: Callable[[WebDriver], _T | None]) -> _T:
        """Wait until ``condition`` returns something truthy; on a time-out, save the screen as
        ``timeout.png`` and fail with what was awaited, the URL and the start of the page text.

        :param what: the awaited state, for the failure message.
        :param condition: called with the driver every 0.25 s.
        """
        try:
            # React re-renders replace elements between a find and a read: try again.
            return WebDriverWait(
                self.driver,
                self.timeout,
                poll_frequency=0.25,
                ignored_exceptions=(StaleElementReferenceException,),
            ).until(condition)
        except TimeoutException:
            shot = self.screenshot("timeout")
            raise AssertionError(
                f"timed out after {self.timeout:.0f}s waiting for {what} at {self.driver.current_url}; "
                f"screen: {shot}; page text: {self.page_text()[:1500]!r}"
            ) from None

    def open(self, path: str) -> None:
        self.driver.get(f"{self.base_url}{path}")

    def login(self, username: str, password: str) -> None:
        """Sign in through SimpleAuthManager's login page; returns once the UI's navigation shows."""
        self.open("/auth/login?next=%2F")
        self.wait("the login form", visible(By.NAME, "username")).send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait("the UI after login", visible(By.CSS_SELECTOR, "[data-testid=nav-dags-link]"))

    def open_trigger_form(self, dag_id: str) -> WebElement:
        """Open the DAG's page, press Trigger and return the open dialog once its run
        parameters are rendered."""
        self.open(f"/dags/{quote(dag_id, safe='')}")
        self.wait(
            "the Trigger button",
            # Airflow 3.1's button has no test id, only its label.
            clickable(By.XPATH, "//button[@data-testid='trigger-dag-button' or normalize-space()='Trigger']"),
        ).click()
        self.wait(
            "the trigger form's run parameters", visible(By.CSS_SELECTOR, "[role=dialog] [name^=element_]")
        )
        return self.driver.find_element(By.CSS_SELECTOR, "[role=dialog][data-state=open]")

    def open_mapped_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """The grid of one run with the list of a mapped task's instances beside it."""
        self.open(
            f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}/mapped"
        )

    def settled(self) -> None:
        """Wait until no loading indicator is shown and no finite animation runs (a dialog
        fading in, a row sliding), so a screenshot shows what a user sees once the page is there.

        Loading bars and spinners animate for ever, shown or hidden; only shown ones count.
        """
        self.wait("the page to finish loading and animating", lambda driver: driver.execute_script(_SETTLED))

    def page_text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def screenshot(self, name: str) -> Path:
        """Save the window as ``artifacts/screenshots/<name>.png``; returns the path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
        if not self.driver.save_screenshot(str(path)):
            raise AssertionError(f"chromium could not save {path}")
        return path


def visible(by: str, selector: str) -> Callable[[WebDriver], WebElement | None]:
    """The first element matching ``selector`` that is displayed, else None."""

    def condition(driver: WebDriver) -> WebElement | None:
        return next((e for e in driver.find_elements(by, selector) if e.is_displayed()), None)

    return condition


def clickable(by: str, selector: str) -> Callable[[WebDriver], WebElement | None]:
    """The first displayed and enabled element matching ``selector``, else None."""

    def condition(driver: WebDriver) -> WebElement | None:
        return next(
            (e for e in driver.find_elements(by, selector) if e.is_displayed() and e.is_enabled()), None
        )

    return condition
