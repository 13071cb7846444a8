"""The documentation site builds with ``mkdocs build --strict`` and a tutorial page renders.

The site is built into a temporary folder (never ``site/`` of the repository): a broken
link, a missing page in the navigation, a generated reference that cannot be written or a
docstring mkdocstrings cannot read fails the build. Then Debian's ``chromium`` (through
playwright, never a downloaded browser) opens the policy author's tutorial and the test
checks what a reader would see: the page's title, the tutorial's heading and text, the
navigation, a screenshot that is not blank.

Skipped only when mkdocs (the ``docs`` extra) or chromium is missing on a developer's
machine; under ``CI=true`` a missing one is a failure.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from tests.docs.pages import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
IN_CI = os.environ.get("CI") == "true"

sync_api: ModuleType | None
try:
    from playwright import sync_api
except ImportError:  # the dev extra without playwright
    sync_api = None


def _require(available: bool, what: str) -> None:
    """Skip without ``what`` on a developer's machine; fail in CI."""
    if not available:
        if IN_CI:
            pytest.fail(f"{what} is missing in CI")
        pytest.skip(f"{what} is not installed")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on the test's output."""


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on loopback (its search runs in a worker, which a page
    opened from a file may not start), as its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require(_has("mkdocs") and _has("material") and _has("mkdocstrings"), "the docs extra")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    return out


def test_site_has_every_part_and_the_generated_references(site: Path) -> None:
    for page in (
        "tutorials/policy-author/index.html",
        "tutorials/policy-author.sv/index.html",
        "tutorials/integrator/index.html",
        "tutorials/auditor/index.html",
        "tutorials/auditor.sv/index.html",
        "how-to/working-days-before/index.html",
        "explanation/time/index.html",
        "explanation/lifecycle/index.html",
        "glossary/index.html",
        "vocabulary/index.html",
    ):
        assert (site / page).is_file(), page
    cli = (site / "reference/cli/index.html").read_text(encoding="utf-8")
    for command in ("validate", "due", "explain", "test", "render", "schema", "serve", "audit"):
        assert f"usage: samverkan {command}" in cli, command
    http = (site / "reference/http-api/index.html").read_text(encoding="utf-8")
    assert "/routines/{routine}/cases/{case}/events" in http
    assert (site / "reference/openapi.json").is_file()
    api = (site / "reference/python-api/index.html").read_text(encoding="utf-8")
    assert 'id="samverkan_rules.load_routine"' in api
    language = (site / "reference/routine-language/index.html").read_text(encoding="utf-8")
    assert "deadline_on_non_working_day" in language
    scenarios = (site / "reference/scenario-format/index.html").read_text(encoding="utf-8")
    assert "as_of" in scenarios


def test_a_tutorial_page_renders_in_a_browser(served: str, tmp_path: Path) -> None:
    _require(sync_api is not None, "playwright")
    _require(Path(CHROMIUM).exists(), "chromium")
    assert sync_api is not None
    shot = tmp_path / "tutorial.png"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served + "tutorials/policy-author/")
            page.wait_for_load_state("load")
            title = page.title()
            heading = page.inner_text("article h1")
            body = page.inner_text("article")
            nav = page.locator("nav.md-nav--primary").count()
            page.screenshot(path=str(shot), full_page=False)
            pixels = page.evaluate(
                """async (src) => {
                const img = new Image(); img.src = src; await img.decode();
                const c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
                const d = ctx.getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 97) {
                    seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
                }
                return seen.size;
            }""",
                "data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode(),
            )
        finally:
            browser.close()
    assert title.startswith("Policy author: encode, test and render a routine"), title
    assert heading.startswith("Policy author: encode, test and render a routine"), heading
    assert "samverkan validate bestallning.yaml" in body
    assert "2 passed, 0 failed" in body
    assert "404" not in title and "Error" not in title and "Not Found" not in body
    assert nav >= 1, "the site's navigation is missing"
    assert not errors, errors
    assert shot.stat().st_size > 20_000, "the screenshot is suspiciously small"
    assert pixels > 20, f"the screenshot is nearly blank ({pixels} colours)"


def _swedish_pages() -> list[Path]:
    return sorted((ROOT / "docs").rglob("*.sv.md"))


@pytest.mark.parametrize("swedish", _swedish_pages(), ids=lambda p: p.name)
def test_each_translated_page_switches_to_its_other_language(swedish: Path) -> None:
    """The policy author's and auditor's pages come in Swedish and English; each names the
    other near its top, so a reader can switch language where they stand."""
    english = swedish.with_name(swedish.name.removesuffix(".sv.md") + ".md")
    assert english.exists(), f"{swedish.name} has no English page {english.name}"
    for page, other, word in ((swedish, english, "English"), (english, swedish, "Svenska")):
        head = "\n".join(page.read_text(encoding="utf-8").splitlines()[:8])
        assert f"*[{word}]({other.name})*" in head, f"{page.name} does not link to {other.name}"


def test_the_policy_author_and_auditor_pages_are_in_both_languages() -> None:
    names = {p.name for p in _swedish_pages()}
    assert {"policy-author.sv.md", "auditor.sv.md"} <= names
    recipes = {p.name for p in (ROOT / "docs" / "how-to").glob("*.md")} - {"index.md"}
    operations = {
        "service-tls-postgresql.md",
        "translate-messages.md",
        "run-the-tests.md",
        "compiled-engine.md",
    }
    for name in sorted(recipes - operations):
        if not name.endswith(".sv.md"):
            assert name.removesuffix(".md") + ".sv.md" in recipes, f"{name} has no Swedish page"
