"""The web UI in headless Debian chromium (driven by playwright): search, open a view, see its histogram and
lineage SVG, follow lineage links with the mouse and the keyboard, show column lineage, and see that HTML
written in definitions stays text. Screenshots go to the test's temp dir. One server and one browser per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ui_support import XSS

pytestmark = [pytest.mark.redis,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")]

ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (laptop-sized viewport) that fails the test on any dialog, script or console error."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server)
    p = context.new_page()
    problems: list[str] = []
    p.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    p.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # console errors: a blocked inline style or script (CSP), a missing file (the one 404 page asked for aside)
    p.on("console", lambda m: m.type == "error" and not m.location.get("url", "").endswith("/ui/views/nope")
         and problems.append(f"console: {m.text} at {m.location.get('url')}"))
    yield p
    context.close()
    assert not problems, problems


def test_search_open_a_view_see_its_svg_and_follow_lineage(page, built, tmp_path):
    page.goto("/ui/")
    page.get_by_label("Words").fill("spend")
    page.get_by_label("Words").press("Enter")
    page.wait_for_url("**/ui/?q=spend**")
    results = page.locator("#results li.card h3 a").all_inner_texts()
    assert "user_spend" in results and "merchant_risk" not in results
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    page.get_by_role("link", name="user_spend", exact=True).first.click()
    page.wait_for_url("**/ui/views/user_spend")
    assert page.locator("h1").inner_text().startswith("user_spend")
    # the histogram: 20 drawn bars whose tooltips hold numpy's counts of what was pushed
    bars = page.locator("#stat-amount svg.hist rect.bar")
    latest = built.latest
    expected, _ = np.histogram(latest["amount"], bins=20, range=(latest["amount"].min(), latest["amount"].max()))
    assert bars.count() == 20
    assert [int(t.rsplit(": ", 1)[1].replace(",", "")) for t in bars.locator("title").all_text_contents()] == list(
        expected)
    box = page.locator("#stat-amount svg.hist").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 80  # drawn, not collapsed
    lineage = page.locator("svg.lineage")
    assert lineage.locator("a.node").count() == 5
    page.screenshot(path=str(tmp_path / "view.png"), full_page=True)

    # follow the source's box in the lineage drawing
    page.locator('svg.lineage a.node[data-name="transactions"]').click()
    page.wait_for_url("**/ui/sources/transactions")
    assert page.locator("h1").inner_text().startswith("transactions")
    page.get_by_role("link", name="Lineage", exact=True).click()
    page.wait_for_url("**/ui/lineage/transactions**")
    page.screenshot(path=str(tmp_path / "lineage.png"), full_page=True)
    assert {p.name for p in tmp_path.glob("*.png")} == {"search.png", "view.png", "lineage.png"}
    assert all(p.stat().st_size > 10_000 for p in tmp_path.glob("*.png"))


def test_column_lineage_on_demand_and_keyboard_navigation(page, tmp_path):
    page.goto("/ui/lineage/user_spend?depth=2")
    assert page.locator("svg.lineage path.column-edge").count() == 0
    page.get_by_label("Show column lineage").check()  # the page redraws on change
    page.wait_for_url("**columns=1**")
    assert page.locator("svg.lineage path.column-edge").count() == 5
    page.screenshot(path=str(tmp_path / "columns.png"), full_page=True)
    # the first Tab reaches the skip link; Tabbing on reaches the graph's boxes, and Enter opens one
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('svg.lineage a.node')"):
            break
    else:
        pytest.fail("no lineage node is reachable with the keyboard")
    name = page.evaluate("document.activeElement.dataset.name")
    href = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href}")
    assert page.locator("h1").inner_text().startswith(name)


def test_html_in_definitions_shows_as_text(page, tmp_path):
    page.goto("/ui/views/hostile_view")
    assert page.evaluate("window.__xss") is None
    assert page.locator("p.lead").inner_text() == XSS
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    assert XSS in page.locator("dl.facts").inner_text()  # the owner and the tag, as text
    page.goto("/ui/?q=" + XSS.replace("<", "%3C").replace(">", "%3E").replace(" ", "+").replace("\"", "%22"))
    assert page.evaluate("window.__xss") is None
    assert page.get_by_label("Words").input_value() == XSS
    page.screenshot(path=str(tmp_path / "escaped.png"), full_page=True)


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 channels)."""
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    hi, lo = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# the colour of each element's text and of the first opaque background behind it, as chromium computed them
COLOURS = """
els => els.map(el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  let bg = el, c = null;
  while (bg) { const v = getComputedStyle(bg).backgroundColor; const p = rgb(v);
    if (p.length < 4 || p[3] > 0) { c = p.slice(0, 3); break; } bg = bg.parentElement; }
  return [el.tagName + "." + el.className, rgb(getComputedStyle(el).color).slice(0, 3), c || [255, 255, 255]];
})
"""


def test_landmarks_labels_and_contrast(page):
    for path in ("/ui/", "/ui/views/user_spend", "/ui/lineage/user_spend?columns=1", "/ui/views/nope"):
        page.goto(path)
        for landmark in ("banner", "navigation", "main", "contentinfo", "search"):
            assert page.get_by_role(landmark).count() >= 1, (path, landmark)
        assert page.locator("h1").count() == 1
        unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)""")
        assert unlabelled == [], (path, unlabelled)
        texts = page.eval_on_selector_all(
            "main p, main a, main td, main th, main dt, main dd, main .badge, main .tag, main .kind, main h1, "
            "main h2, main code, header a, footer p, main span.muted", COLOURS)
        assert len(texts) > 10
        low = [(what, fg, bg, round(contrast(fg, bg), 2)) for what, fg, bg in texts if contrast(fg, bg) < 4.5]
        assert low == [], (path, low)


def test_the_demo_act_prints_the_address_and_saves_a_lineage_screenshot(built, capsys):
    import threading

    from aquifer.cli.demo_ui import ui_act

    root = built.store.config.root
    failed: list[BaseException] = []

    def act() -> None:  # its own thread: this one already runs the module's playwright loop
        try:
            ui_act(root)
        except BaseException as exc:  # reported below
            failed.append(exc)

    thread = threading.Thread(target=act)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive() and not failed, failed
    out = capsys.readouterr().out
    shot = root / "screenshots" / "lineage.png"
    assert "web UI: http://127.0.0.1:" in out and str(shot) in out
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
