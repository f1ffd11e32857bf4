"""Changing the desk's settings in a real browser without racing the page's own load.

On load the page restores this browser's settings and then sets the threshold the chosen base
uses; each step saves the settings to localStorage. A value typed into the settings panel before
that chain has finished (or while the panel still opens) can be overwritten on a busy machine, so
these helpers wait for the saved settings to settle first and type again if the page lost it.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

SETTINGS_KEY = "faq-rerank-desk-settings"  # the gr.BrowserState's key in localStorage
THRESHOLD = "#threshold input[type=number]"


def settings_saved(page: Page, other_than: str | None = None, key: str = SETTINGS_KEY) -> str | None:
    """Wait until this browser's stored settings differ from ``other_than`` and then stay the same
    for a second (the page's own load saves them too, asynchronously); the stored value."""
    page.wait_for_function(
        """([key, before]) => {
            const now = localStorage.getItem(key);
            if (now === before) return false;
            if (window.__settingsSeen !== now) { window.__settingsSeen = now; window.__settingsAt = Date.now(); }
            return Date.now() - window.__settingsAt > 1000;
        }""",
        arg=[key, other_than],
        polling=100,
    )
    return page.evaluate("key => localStorage.getItem(key)", key)


def set_threshold(page: Page, value: str, took_effect: Callable[[], object], tries: int = 5) -> None:
    """Open the settings panel once the page's load has saved its settings, type ``value`` into
    the threshold and press Enter, until ``took_effect`` (a Playwright ``expect`` that raises
    AssertionError while the change is not yet shown) passes."""
    settings_saved(page)
    if not page.locator(THRESHOLD).is_visible():
        page.click("#settings > button")
    page.locator(THRESHOLD).wait_for()
    for attempt in range(tries):
        page.fill(THRESHOLD, value)
        page.press(THRESHOLD, "Enter")
        try:
            took_effect()
            return
        except AssertionError:
            if attempt == tries - 1:
                raise
