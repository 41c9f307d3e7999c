"""Fixtures for end-to-end browser tests: Debian's chromium driven by Playwright's sync API.

Playwright never downloads a browser here; it drives /usr/bin/chromium. When that is missing
the tests skip loudly (or fail, under CI=true), and the skip is repeated in the summary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_MESSAGE = (
    f"!!! SKIPPED: Debian chromium not found at {CHROMIUM}; browser tests did not run !!!"
)
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1},
    "phone": {
        "viewport": {"width": 375, "height": 812},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
DEFAULT_TIMEOUT_MS = 15_000

_browser_missing = False


def screenshot_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    path = Path(os.environ.get("SCREENSHOT_DIR") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if _browser_missing:
        terminalreporter.write_sep("!", "browser tests", red=True)
        terminalreporter.write_line(MISSING_MESSAGE, red=True, bold=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    global _browser_missing
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing and CI=true: install Debian's chromium package")
        _browser_missing = True
        print(MISSING_MESSAGE, file=sys.stderr)
        pytest.skip(MISSING_MESSAGE)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What went wrong in any page of one test: uncaught script errors, missing static files."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.items.append(f"script error on {page.url}: {exc}"))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _response(self, response: Any) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.items.append(f"{response.status} for {response.url}")

    def _failed(self, request: Any) -> None:
        # ERR_ABORTED is the page moving on before a request finished (a favicon, say); a
        # missing file is a 404 response, caught above.
        if "/static/" in request.url and "ERR_ABORTED" not in str(request.failure):
            self.items.append(f"request failed: {request.url} ({request.failure})")


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """A factory: new_page("desktop" | "phone", locale="zh-CN") -> a page in a fresh context.

    new_page("phone", signed_in_as=page) starts with page's cookies, to skip signing in again.

    Each call gets its own browser context (cookies, language); all are closed afterwards.
    A script error or a missing static file on any of them fails the test at teardown.
    """
    contexts: list[Any] = []
    problems = PageProblems()

    def make(viewport: str = "desktop", locale: str = "zh-CN", signed_in_as: Any = None) -> Any:
        # signed_in_as: another page whose cookies (session, language) the new one starts with.
        state = signed_in_as.context.storage_state() if signed_in_as is not None else None
        context = browser.new_context(locale=locale, storage_state=state, **VIEWPORTS[viewport])
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    if problems.items:
        pytest.fail("problems in the browser:\n" + "\n".join(problems.items))


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """screenshot(page, role, viewport, name) -> var/screenshots/<role>-<lang>-<viewport>-<name>.png

    The language is read from the page's <html lang>, so it names what was really shown.
    """
    directory = screenshot_dir()

    def shoot(page: Any, role: str, viewport: str, name: str) -> Path:
        lang = page.get_attribute("html", "lang") or "unknown"
        path = directory / f"{role}-{lang}-{viewport}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


@dataclass(frozen=True)
class DemoWorld:
    own_enterprise_id: int
    own_enterprise_name: str
    granted_enterprise_ids: frozenset[int]


@pytest.fixture
def demo_world(reference_data: None) -> DemoWorld:
    """The demo world: 200 enterprises (seed 1) and one user per role, password DEMO_PASSWORD.

    Browser tests are transactional (the live server reads through its own connection), and
    the flush after each one wipes the migration's reference data: `reference_data` (root
    conftest) puts it back first.
    """
    from yunshu.accounts.models import User
    from yunshu.core.demo import create_demo_users, generate_enterprises
    from yunshu.enterprises.models import DataGrant

    generate_enterprises(200, seed=1)
    create_demo_users()
    owner = User.objects.select_related("organisation__enterprise").get(username="enterprise")
    enterprise = owner.organisation.enterprise
    provider = User.objects.get(username="provider")
    granted = DataGrant.objects.filter(provider_id=provider.organisation_id).values_list(
        "enterprise_id", flat=True
    )
    return DemoWorld(
        own_enterprise_id=enterprise.pk,
        own_enterprise_name=enterprise.name,
        granted_enterprise_ids=frozenset(granted),
    )
