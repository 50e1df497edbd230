"""The stepper and the chain viewer as a person sees them: JupyterLab in headless Chromium
(issue 3, item 6).

Starts JupyterLab on 127.0.0.1 (a free port, a token, a temporary copy of the
notebook's folder as its root, Jupyter's config, data and runtime folders in a
temporary folder so that nobody's own settings take part), opens :data:`NOTEBOOK`,
runs all its cells from the Run menu, waits for the first stepper, presses Next, and
checks that the step, its checks and its SVG picture are rendered. The screenshots
are kept in ``test-artifacts/browser/`` (also when the test fails).

Chromium is Debian's (``/usr/bin/chromium``, or ``$RMSLAB_CHROMIUM``), driven by the
``playwright`` package: no browser is downloaded. Without Chromium or Playwright the
test is skipped with the reason; under ``CI=true`` it fails instead (``.ci/run``
installs Chromium).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent

#: The notebook opened in JupyterLab: the enrollment lesson, whose first stepper plays the
#: online enrollment of the root cluster with the deployment picture.
NOTEBOOK = REPO / "notebooks" / "02_enrollment.ipynb"
#: The notebook whose chain viewer is opened (same folder: the same server shows it).
CHAIN_VIEWER_NOTEBOOK = REPO / "notebooks" / "01_anatomy_of_an_xrml_document.ipynb"

CHROMIUM = os.environ.get("RMSLAB_CHROMIUM", "/usr/bin/chromium")
#: The flags that work on these machines (docs/architecture.md "Tooling").
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts" / "browser"

SERVER_START_TIMEOUT = 90  # seconds
NOTEBOOK_TIMEOUT = 300  # seconds, for all cells to run and the stepper to appear
UI_TIMEOUT = 30  # seconds, for one thing on the page to happen
FAIL_RED = "rgb(176, 0, 32)"  # rmslab.widgets.stepper's colour for a failed check
SPEC_ID = re.compile(r"^\[[A-Z]+-\d+[a-z]?\]$")  # as shown: [E-4]


def _missing() -> list[str]:
    missing = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium at {CHROMIUM} (as root: apt-get install -y chromium)")
    for module, how in (("playwright", "pip install -e '.[test]'"),
                        ("jupyterlab", "pip install -e '.[lab]'")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the {module} package ({how})")
    return missing


@pytest.fixture(scope="module")
def browser_ready() -> None:
    """Skip (locally) or fail (under CI=true) when the real browser cannot run."""
    missing = _missing()
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — CI must install it (.ci/run)", pytrace=False)
        pytest.skip(message)


# -- JupyterLab ------------------------------------------------------------------------


_LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # All cells in the page, also those far below (for a long notebook).
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True,
                                               "windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class JupyterLab:
    """A JupyterLab server of our own, on a temporary copy of the notebook's folder."""

    def __init__(self, home: Path, notebook: Path) -> None:
        self.root = home / "root"
        shutil.copytree(notebook.parent, self.root,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        self.notebook = notebook.name
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        jupyter = home / "jupyter"
        env = dict(os.environ)
        for name in ("JUPYTER_PATH", "JUPYTER_TOKEN", "JUPYTER_CONFIG_PATH"):
            env.pop(name, None)
        env.update(
            # The kernel finds `dot` (graphviz-pure) and rmslab in this venv.
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            JUPYTER_CONFIG_DIR=str(jupyter / "config"),
            JUPYTER_DATA_DIR=str(jupyter / "data"),
            JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(jupyter / "lab-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "lab-workspaces"),
            IPYTHONDIR=str(jupyter / "ipython"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONHASHSEED="0",
        )
        # Our own JupyterLab settings: start the notebook's kernel without asking, and
        # no news or update notices over the page.
        for plugin, settings in _LAB_SETTINGS.items():
            path = jupyter / "lab-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings), encoding="utf-8")
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}",
                   "--LabApp.news_url=None",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self._log = self.log_path.open("wb")
        # Its own process group, so that its kernels go with it at the end.
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.replace(self.token, "TOKEN").splitlines()[-lines:])

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        request = urllib.request.Request(f"{self.url}/api/status",
                                         headers={"Authorization": f"token {self.token}"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {self.process.returncode}:\n"
                            f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n"
                    f"{self.log_tail()}")

    def notebook_url(self, name: str | None = None) -> str:
        """The notebook in a workspace of its own: a new workspace restores no other
        notebook beside it (each test sees only the notebook it opened)."""
        name = name or self.notebook
        workspace = "rmslab-" + re.sub(r"[^A-Za-z0-9]+", "-", Path(name).stem)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # Jupyter stops its kernels and exits
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:  # a kernel left behind by the server, in the group we started
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


@pytest.fixture(scope="module")
def jupyterlab(browser_ready: None, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[JupyterLab]:
    assert NOTEBOOK.is_file(), f"{NOTEBOOK} is missing"
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), NOTEBOOK)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log_path, ARTIFACTS / "jupyterlab.log")


# -- the test --------------------------------------------------------------------------


def _errors_shown(page: Any) -> list[str]:
    """The errors the notebook shows (a cell that raised, or a traceback on stderr)."""
    raised: list[str] = page.locator(
        '[data-mime-type="application/vnd.jupyter.error"]').all_inner_texts()
    stderr: list[str] = page.locator(
        '[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
    return raised + [text for text in stderr if "Traceback" in text]


def _in_chromium(lab: JupyterLab, screenshot: str,
                 drive: Callable[[Any, JupyterLab, Any], None]) -> None:
    """Run ``drive(page, lab, expect)`` in a new Chromium page; the page's screenshot is
    kept as ``screenshot`` in the artifacts, also when it fails."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(UI_TIMEOUT * 1000)
            expect.set_options(timeout=UI_TIMEOUT * 1000)
            try:
                drive(page, lab, expect)
            finally:
                page.screenshot(path=str(ARTIFACTS / screenshot))
        finally:
            browser.close()


def test_the_stepper_plays_in_jupyterlab(jupyterlab: JupyterLab) -> None:
    _in_chromium(jupyterlab, "jupyterlab-stepper.png", _play)


def _open_and_run_all(page: Any, lab: JupyterLab, expect: Any,
                      notebook: str | None = None) -> Any:
    """Open a notebook, wait for its kernel, run all its cells; return its panel."""
    page.goto(lab.notebook_url(notebook))
    # The notebook's panel is the one shown (JupyterLab may restore others behind it).
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=SERVER_START_TIMEOUT * 1000)
    # The kernel is up when the status bar names it and says it is idle (the toolbar's
    # execution indicator says "idle" while there is no kernel yet).
    kernel_idle = page.locator("#jp-main-statusbar").get_by_text(
        re.compile(r"^(?!No Kernel).+ \| Idle$"))
    expect(kernel_idle).to_be_visible(timeout=SERVER_START_TIMEOUT * 1000)

    # Run → Run All Cells, as a person would.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    return panel


def _play(page: Any, lab: JupyterLab, expect: Any) -> None:
    panel = _open_and_run_all(page, lab, expect)
    stepper = panel.locator(".rmslab-stepper").first
    try:
        expect(stepper).to_be_visible(timeout=NOTEBOOK_TIMEOUT * 1000)
    except AssertionError:
        raise AssertionError(f"no stepper appeared; errors shown: {_errors_shown(page)}\n"
                             f"server log:\n{lab.log_tail()}") from None
    stepper.scroll_into_view_if_needed()
    position = stepper.locator(".rmslab-position")
    expect(position).to_have_text(re.compile(r"^Step 1 of \d+$"))
    expect(stepper.locator(".rmslab-back")).to_be_disabled()
    first_step = stepper.locator(".rmslab-step").inner_text()

    # Next: the second step, with its picture.
    stepper.locator(".rmslab-next").click()
    step = _expect_step(stepper, 2, expect)
    expect(stepper.locator(".rmslab-back")).to_be_enabled()
    assert step.inner_text() != first_step, "Next did not change the step shown"
    # Its checks; when a trace's second step checks nothing, the first later one that does.
    number = 2
    while not step.locator(".rmslab-check").count() and stepper.locator(".rmslab-next").is_enabled():
        stepper.locator(".rmslab-next").click()
        number += 1
        step = _expect_step(stepper, number, expect)
    checks = step.locator(".rmslab-check")
    assert checks.count() >= 1, "no step after the first shows a check"
    for text in checks.all_inner_texts():
        assert text.startswith(("✓", "✗")), f"a check without its mark: {text!r}"
    expect(step.locator(".rmslab-spec-id").first).to_have_text(SPEC_ID)
    for failed in step.locator(".rmslab-check-fail").all():
        expect(failed).to_have_css("color", FAIL_RED)
        expect(failed).to_contain_text("✗")

    documents = step.locator(".rmslab-document")
    if documents.count():
        documents.first.locator("summary").click()
        expect(documents.first.locator(".highlight pre")).to_be_visible()

    stepper.scroll_into_view_if_needed()
    stepper.screenshot(path=str(ARTIFACTS / "stepper.png"))
    assert not _errors_shown(page), _errors_shown(page)


def test_the_chain_viewer_in_jupyterlab(jupyterlab: JupyterLab) -> None:
    """Notebook 01's chain viewers: the tampered chain's verdict and picture, and a press
    on each document's button shows that document's checks; then the intact chain without
    a pinned root, whose verdict on screen is "consistent but NOT anchored"."""
    _in_chromium(jupyterlab, "jupyterlab-chain-viewer.png", _explore)


def _explore(page: Any, lab: JupyterLab, expect: Any) -> None:
    panel = _open_and_run_all(page, lab, expect, CHAIN_VIEWER_NOTEBOOK.name)
    viewer = panel.locator(".rmslab-chain-viewer").first
    try:
        expect(viewer).to_be_visible(timeout=NOTEBOOK_TIMEOUT * 1000)
    except AssertionError:
        raise AssertionError(f"no chain viewer appeared; errors shown: {_errors_shown(page)}\n"
                             f"server log:\n{lab.log_tail()}") from None
    viewer.scroll_into_view_if_needed()
    expect(viewer.locator('.rmslab-chain-verdict[data-valid="false"][data-verdict="invalid"]')
           ).to_contain_text("chain NOT valid")
    picture = viewer.locator(".rmslab-picture svg")
    expect(picture).to_be_visible()
    assert picture.locator("g.node").count() == 5, "a box per document and the anchor"

    # The notebook chose the client licensor certificate: its digest check failed.
    shown = viewer.locator('.rmslab-document-detail[data-index="1"][data-valid="false"]')
    expect(shown).to_be_visible()
    expect(shown.locator('.rmslab-finding[data-code="digest-mismatch"]')).to_have_css(
        "color", FAIL_RED)
    expect(shown.locator(".rmslab-check-fail").first).to_contain_text("✗")

    # A press on the publishing license's button shows it, with its three checks passed.
    viewer.locator(".rmslab-document-button-0").click()
    shown = viewer.locator('.rmslab-document-detail[data-index="0"][data-valid="true"]')
    expect(shown).to_be_visible()
    expect(shown.locator(".rmslab-check-pass")).to_have_count(5)
    shown.locator(".rmslab-document summary").click()
    expect(shown.locator(".rmslab-document .highlight pre")).to_be_visible()

    viewer.locator(".rmslab-document-button-1").click()
    expect(viewer.locator('.rmslab-document-detail[data-index="1"]')).to_be_visible()
    viewer.screenshot(path=str(ARTIFACTS / "chain-viewer.png"))

    # The intact chain without a pinned root: consistent, never called valid.
    unanchored = panel.locator(".rmslab-chain-viewer").nth(1)
    unanchored.scroll_into_view_if_needed()
    verdict = unanchored.locator('.rmslab-chain-verdict[data-verdict="unanchored"]')
    expect(verdict).to_be_visible()
    expect(verdict).to_have_attribute("data-valid", "false")
    expect(verdict).to_contain_text("chain consistent but NOT anchored")
    expect(verdict).to_contain_text("no root pinned")
    expect(verdict).not_to_contain_text("valid and anchored")
    expect(unanchored.locator(".rmslab-picture svg")).to_contain_text(
        "not anchored: no trusted root pinned")
    expect(unanchored.locator(".rmslab-document-button-unanchored")).to_have_count(4)
    expect(unanchored.locator(".rmslab-document-detail .rmslab-check-fail")).to_have_count(0)
    unanchored.screenshot(path=str(ARTIFACTS / "chain-viewer-unanchored.png"))
    assert not _errors_shown(page), _errors_shown(page)


def _expect_step(stepper: Any, number: int, expect: Any) -> Any:
    """Step ``number`` is shown: its position, its message and its SVG picture."""
    expect(stepper.locator(".rmslab-position")).to_have_text(
        re.compile(rf"^Step {number} of \d+$"))
    step = stepper.locator(f'.rmslab-step[data-step="{number}"]')
    expect(step).to_be_visible()
    # "actor: action" or "actor → target: action"
    expect(step.locator(".rmslab-message")).to_have_text(re.compile(r"^\S.*: \S"))
    picture = stepper.locator(f'.rmslab-picture[data-step="{number}"] svg')
    expect(picture).to_be_visible()
    box = picture.bounding_box()
    assert box is not None and box["width"] > 20 and box["height"] > 20, box
    assert picture.locator("g.node").count() >= 1, f"the picture of step {number} has no node"
    return step
