"""A real headless Chromium (the distribution's package) driven by Playwright; tests skip, saying why, where
it is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM_SKIP = "Chromium is not installed here (no chromium on PATH): `apt-get install chromium`; .ci/run does so"
# Chromium's own calls home are refused on a closed network, many at a time: none are made.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def chromium_path() -> str | None:
    """The Chromium binary of the distribution, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh headless Chromium with an empty profile."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(CHROMIUM_SKIP)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()
