"""The demo's UI act: the feature server with the web UI on a free loopback port, its address, and a screenshot
of the lineage page (headless Debian chromium driven by playwright) in ``<demo>/screenshots``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)  # addresses and paths printed whole

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHOT = "/ui/lineage/fraud_model_v1?depth=3&direction=up&columns=1"
"""The lineage page screenshotted: everything the quickstart's feature service is computed from, with columns."""


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(repo: Path) -> Iterator[str]:
    """The feature server of ``repo`` with the UI mounted, in a thread on a free loopback port; its base URL."""
    import uvicorn

    from aquifer.api import create_app
    from aquifer.sdk.store import FeatureStore
    from aquifer.ui import mount

    store = FeatureStore(repo)
    port = free_port()
    app = mount(create_app(store, sinks=[], freshness_check_s=0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the feature server did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def screenshot(url: str, path: Path, *, width: int = 1400, height: int = 900) -> None:
    """A full-page PNG of ``url`` at ``path``, taken by headless chromium."""
    from playwright.sync_api import sync_playwright

    path.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="load")
            page.wait_for_selector("svg.lineage")
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()


def ui_act(directory: Path) -> None:
    """Serve the demo repo at ``directory`` with the UI, print the UI's address, and screenshot the lineage page
    of fraud_model_v1 (all it is computed from, with columns) into ``directory / "screenshots"`` (skipped, saying
    why, without chromium or playwright)."""
    with serving(directory) as base:
        console.print(f"web UI: [bold]{base}/ui/[/bold] (lineage: {base}{SHOT})")
        if not CHROMIUM.exists():
            console.print(f"[yellow]no screenshot: {CHROMIUM} is not installed (apt-get install chromium)[/yellow]")
            return
        try:
            import playwright  # noqa: F401  (dev dependency)
        except ImportError:
            console.print("[yellow]no screenshot: playwright is not installed (pip install -e '.[dev]')[/yellow]")
            return
        target = directory / "screenshots" / "lineage.png"
        screenshot(f"{base}{SHOT}", target)
        console.print(f"screenshot of the lineage page: {target}")
