"""Helpers of the app's tests: the app as a real process, and a real browser (Debian's chromium).

* :func:`require_app_extra`: skip (one line) unless the ``app`` extra is installed; a failure under
  CI, where ``.ci/run`` sets ``GRADIENTTOOLS_REQUIRE_BROWSER=1``;
* :class:`AppProcess`: ``python -m GradientToolsLib app`` on a free port, its printed URL, its exit;
* :func:`require_browser` and :func:`chromium`: headless chromium driven by selenium through
  chromium-driver, or a one-line skip saying why the browser tier did not run;
* :class:`Page`: a tab on the app (elements by id, the job queue's state, the view's frames).
"""

from __future__ import annotations

import base64
import io
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Optional

import numpy as np
import pytest

URL_LINE = re.compile(r"^GradientTools app: (http://[^/\s]+:(\d+)/)$")
#: environment variable set by .ci/run: a missing browser or app extra fails instead of skipping
REQUIRED = "GRADIENTTOOLS_REQUIRE_BROWSER"
CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = ("chromedriver",)
#: seconds to wait for one action and its frame (a frame takes 1-10 s on a busy 2-core machine)
ACTION_TIMEOUT = 180.0


def _missing(reason: str):
    if os.environ.get(REQUIRED):
        pytest.fail(f"{reason} ({REQUIRED} is set: the browser tier must run here)")
    pytest.skip(reason, allow_module_level=True)


def require_app_extra() -> None:
    import importlib.util

    from GradientToolsLib.app import REQUIRED as MODULES

    missing = [package for module, package in MODULES if importlib.util.find_spec(module) is None]
    if missing:
        _missing(f"app tier did not run: the 'app' extra is not installed (missing {', '.join(missing)})")


def require_browser() -> dict:
    """Paths of chromium and chromium-driver, with selenium importable, or a one-line skip."""
    require_app_extra()
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("browser tier did not run: selenium is not installed (pip install selenium)")
    found = {}
    for key, names in (("chromium", CHROMIUM), ("driver", CHROMEDRIVER)):
        path = next((shutil.which(n) for n in names if shutil.which(n)), None)
        if path is None:
            _missing(f"browser tier did not run: {names[0]} not found "
                     "(apt-get install chromium chromium-driver)")
        found[key] = path
    return found


class AppProcess:
    """``gradienttools app`` as a real process on a free port (``--port 0``).

    The URL is read from the line the app prints; stderr goes to a file (a full pipe would block it).
    """

    def __init__(self, *args: str, wait: bool = True, timeout: float = 180.0) -> None:
        self.args = [sys.executable, "-m", "GradientToolsLib", "app", "--port", "0", *map(str, args)]
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                        bufsize=1)
        self._lines: queue.Queue = queue.Queue()
        self.stdout: List[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url: Optional[str] = None
        self.ready_seconds: Optional[float] = None
        if wait:
            self.wait_ready(timeout)

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Wait for the URL line (``self.url``, ``self.ready_seconds`` since the process started)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.stdout.append(line)
            match = URL_LINE.match(line)
            if match:
                self.url = match.group(1)
                self.ready_seconds = time.perf_counter() - self.started
                return
        code = self.stop()
        raise AssertionError(f"the app printed no URL (exit {code}); stdout {self.stdout!r}; "
                             f"stderr {self.stderr()[-2000:]!r}")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def chromium(paths: dict, width: int = 1100, height: int = 720, download_dir: Optional[str] = None):
    """A headless chromium (selenium webdriver) of the given window size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = paths["chromium"]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    if download_dir:
        options.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(paths["driver"]), options=options)
    driver.set_script_timeout(60)
    return driver


class Page:
    """A tab on the app: find elements by id, wait for the queue, read the view's frame."""

    def __init__(self, driver, url: str) -> None:
        self.driver = driver
        driver.get(url)

    def element(self, element_id: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return self.driver.execute_script(
            "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", element_id)

    def click(self, element_id: str) -> None:
        self.driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'center'});",
                                   element_id)
        self.element(element_id).click()

    def wait(self, condition, what: str, timeout: float = ACTION_TIMEOUT):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; status {self.text('gt-status')!r}, "
                             f"error {self.text('gt-error')!r}")

    def idle(self) -> bool:
        return self.driver.execute_script(
            "const e = document.getElementById('gt-status'); return !!e && e.dataset.state === 'ready';")

    def frame_source(self):
        """The blob URL of the view's current frame, once it is decoded (None before)."""
        return self.driver.execute_script(
            "const im = document.querySelector('#gt-view img');"
            "return im && im.complete && im.naturalWidth > 16 ? im.src : null;")

    def wait_for_frame(self, previous, what: str) -> str:
        """Wait until the queue is idle and the view shows a frame other than ``previous``."""
        def new_frame():
            source = self.frame_source()
            return self.idle() and source not in (None, previous) and source

        return self.wait(new_frame, f"a new frame after {what}")

    def act(self, element_id: str) -> np.ndarray:
        """Click a control whose job changes the view; return the new frame's pixels."""
        previous = self.frame_source()
        self.click(element_id)
        self.wait_for_frame(previous, element_id)
        error = self.text("gt-error")
        assert not error, error
        return self.frame()

    def frame(self) -> np.ndarray:
        """The view's current frame as the browser received it (RGB, float, H x W x 3)."""
        from PIL import Image

        for _ in range(5):  # a newer frame may revoke the blob URL while it is read: read again
            data = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "const im = document.querySelector('#gt-view img');"
                "fetch(im.src).then(r => r.arrayBuffer()).then(b => {"
                "  const bytes = new Uint8Array(b); let s = '';"
                "  for (let i = 0; i < bytes.length; i += 8192)"
                "    s += String.fromCharCode(...bytes.subarray(i, i + 8192));"
                "  done(btoa(s)); }).catch(() => done(null));")
            if data:
                return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"), dtype=float)
            time.sleep(0.2)
        raise AssertionError("could not read the view's frame")
