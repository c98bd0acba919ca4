"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

The sync Playwright API runs an event loop in the test's thread, so Django's guard against
database calls from async contexts is lifted for these tests. Every page's console is
watched: an error or an uncaught exception fails the test. Screenshots go to
``test-artifacts/screenshots/`` (gitignored)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


class ConsoleWatch:
    """Collects console errors and uncaught page errors of every page of a context."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Page) -> Page:
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def new_context(browser, console) -> Iterator:
    contexts: list[BrowserContext] = []

    def make(*, viewport=DESKTOP, **options) -> BrowserContext:
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(15_000)
        context.on("page", console.attach)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert console.errors == [], console.errors


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


# Every form control has a label, every image a text alternative, every page one h1 and a
# main landmark, and no two elements share an id.
A11Y_PROBLEMS = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.hidden
        && !(el.closest('[hidden]')) && el.getAttribute('tabindex') !== '-1')
      problems.push('unlabelled ' + el.tagName + ' ' + (el.name || el.id));
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('img without alt ' + img.src);
  }
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1 elements');
  if (!document.querySelector('main')) problems.push('no main landmark');
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length) problems.push('duplicate ids ' + dupes.join(','));
  return problems;
}"""


def assert_accessible(page: Page) -> None:
    problems = page.evaluate(A11Y_PROBLEMS)
    assert problems == [], f"{page.url}: {problems}"


def shoot(page: Page, name: str, *, full_page: bool = True) -> Path:
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
