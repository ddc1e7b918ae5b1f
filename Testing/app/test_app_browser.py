"""The page in a real browser: Debian's chromium (headless) driven by selenium through chromium-driver.

The app runs as a real process on a free port; the tests below are ONE user session on one page, in
order (load, suggest, apply, flat, generate, downloads, upload, a second tab), sharing the server and
the browser because every frame of the 3D view is a CPU ray cast of one to several seconds here.
Each test states the page state it starts from. What the browser shows is read from the page
itself: the view's frame is fetched from the ``img`` element and decoded, the texts from the DOM.

References: the phantom's true noise (40 HU), MRtrix3's ``dirstat`` on the downloaded scheme (the
peer whose definitions the report follows), the library's readers and Slicer's reader for the
uploaded file's shape, and the frames themselves (changed / restored pixel for pixel).

Without chromium, chromium-driver, selenium or the ``app`` extra the whole module is skipped with
one line saying why; under CI (``GRADIENTTOOLS_REQUIRE_BROWSER=1``, set by ``.ci/run``) that is a
failure. Run time here (2 shared cores, software rendering): about a minute.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
from app_support import AppProcess, Page, chromium, require_browser

PATHS = require_browser()

#: every id the page promises (GradientToolsLib/app/page.py)
IDS = ("gt-view", "gt-show-volume", "gt-show-gradient", "gt-show-scheme", "gt-status", "gt-progress",
       "gt-frame", "gt-upload", "gt-phantom", "gt-volume", "gt-volume-info", "gt-preset",
       "gt-gradient-method",
       "gt-gradient-sigma", "gt-gradient-units", "gt-gradient", "gt-gradient-info", "gt-suppression",
       "gt-visible-only", "gt-suggest", "gt-noise", "gt-warnings", "gt-histogram", "gt-points", "gt-apply",
       "gt-reset", "gt-shells", "gt-b0-count", "gt-b0-interleaved", "gt-b0-start", "gt-ordering",
       "gt-polarity", "gt-seed", "gt-generate", "gt-report", "gt-report-text", "gt-download-fsl-bval",
       "gt-download-fsl-bvec", "gt-download-mrtrix", "gt-download-siemens", "gt-download-ge",
       "gt-download-philips", "gt-download-nrrd")
#: the app's view background, RGB 0..255 (GradientToolsLib.app.session.BACKGROUND)
BACKGROUND = np.array([0.11, 0.12, 0.16]) * 255
SHELLS = {1000: 12, 2000: 20, 3000: 30}


def drawn_share(pixels: np.ndarray) -> float:
    """Share of the frame's pixels that differ clearly from the background."""
    return float(np.mean(np.abs(pixels - BACKGROUND).max(axis=2) > 30))


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return str(tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
def app():
    server = AppProcess()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def page(app, downloads):
    driver = chromium(PATHS, width=960, height=640, download_dir=downloads)
    try:
        started = time.perf_counter()
        tab = Page(driver, app.url)
        tab.wait(lambda: tab.idle() and tab.frame_source(), "the first frame")
        tab.first_frame_seconds = time.perf_counter() - started
        yield tab
    finally:
        driver.quit()


def test_the_page_has_every_control_and_a_rendered_view(page):
    script = "return !document.getElementById(arguments[0]);"
    missing = [i for i in IDS if page.driver.execute_script(script, i)]
    assert not missing, missing
    assert page.element("gt-upload").get_attribute("type") == "file"
    assert "CT phantom" in page.text("gt-volume-info") and "96 x 96 x 48" in page.text("gt-volume-info")
    pixels = page.frame()
    view = page.element("gt-view").size
    assert pixels.shape[1] == pytest.approx(view["width"], abs=2) and pixels.shape[0] > 200
    assert drawn_share(pixels) > 0.1, "the view shows (almost) only background"
    page.initial = pixels


def test_suggest_shows_the_noise_estimate_its_warnings_and_a_histogram(page):
    from PIL import Image

    page.click("gt-suggest")
    text = page.wait(lambda: page.idle() and page.text("gt-noise"), "the noise estimate")
    sigma = float(re.search(r"noise sigma ([0-9.eE+-]+)", text).group(1))
    assert sigma == pytest.approx(40.0, rel=0.15)  # the phantom's noise: 40 HU, white
    assert page.driver.execute_script("return document.getElementById('gt-warnings') !== null")
    source = page.element("gt-histogram").get_attribute("src")
    assert source.startswith("data:image/png;base64,")
    png = base64.b64decode(source.split(",", 1)[1])
    plot = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert plot.shape[1] > 300 and plot.std() > 10
    assert page.driver.execute_script("return document.getElementById('gt-histogram').naturalWidth") > 300
    assert page.text("gt-points").split()[0] == str(2 * len(page.text("gt-points").split()[1::2]))


def test_apply_changes_the_view_and_flat_brings_it_back(page):
    assert page.element("gt-apply").is_enabled(), "needs the suggestion of the previous test"
    applied = page.act("gt-apply")
    assert np.abs(applied - page.initial).mean() > 3.0, "applying the gradient opacity changed nothing"
    _save_screenshot(page, "app.png")
    flat = page.act("gt-reset")
    assert np.abs(flat - page.initial).mean() < 1.0, "flat did not restore the first frame"


def _save_screenshot(page, name: str) -> None:
    """With GRADIENTTOOLS_APP_SCREENSHOTS=FOLDER, keep the page as the user sees it (for the README)."""
    folder = os.environ.get("GRADIENTTOOLS_APP_SCREENSHOTS")
    if folder:
        from PIL import Image

        shot = Image.open(io.BytesIO(page.driver.get_screenshot_as_png())).convert("RGB")
        shot.quantize(colors=256).save(os.path.join(folder, name), optimize=True)  # small enough to commit


def _set_field(page, element_id: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    page.click(element_id)
    field = page.element(element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value)


def test_generate_reports_every_shell_and_shows_the_points(page):
    _set_field(page, "gt-shells", ", ".join(f"{b}:{n}" for b, n in SHELLS.items()))
    _set_field(page, "gt-b0-count", "3")
    before = page.frame()
    points = page.act("gt-generate")
    rows = page.wait(lambda: page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#gt-report tr')).slice(1)"
        ".map(r => Array.from(r.cells).map(c => c.textContent.trim()));"), "the report")
    assert [row[0] for row in rows] == [f"b = {b}" for b in SHELLS] + ["all shells"]
    assert [int(row[1]) for row in rows] == list(SHELLS.values()) + [sum(SHELLS.values())]
    assert np.abs(points - before).mean() > 3.0 and drawn_share(points) > 0.002
    assert "b=0" in page.text("gt-report-text") and "all shells together" in page.text("gt-report-text")
    page.report_rows = rows


def _downloaded(folder: str, name: str, timeout: float = 60.0) -> str:
    path = os.path.join(folder, name)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if os.path.isfile(path) and not os.path.exists(path + ".crdownload") and os.path.getsize(path) > 0:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded to {folder}: {os.listdir(folder)}")


def _dirstat(path: str) -> dict:
    """MRtrix3 dirstat's bipolar nearest-neighbour angles (min, mean) and energy per shell."""
    text = subprocess.run([shutil.which("dirstat"), path], capture_output=True, text=True, check=True).stdout
    shells = {}
    for block in re.split(r"\n(?=\S)", text):
        head = re.search(r"\(b=(\d+)\) \[ (\d+) directions \]", block)
        if not head:
            continue
        angles = re.search(r"nearest-neighbour angles: mean = ([\d.]+), range \[ ([\d.]+)", block)
        energy = re.search(r"energy: total = ([\d.e+]+)", block)
        shells[int(head.group(1))] = (int(head.group(2)), float(angles.group(2)), float(angles.group(1)),
                                      float(energy.group(1)))
    return shells


def test_downloads_are_the_reported_scheme_for_mrtrix_and_fsl(page, downloads):
    from support import require_tool

    from GradientToolsLib.diffusion.readers import read_scheme

    assert getattr(page, "report_rows", None), "needs the scheme of the previous test"
    for element_id in ("gt-download-mrtrix", "gt-download-fsl-bval", "gt-download-fsl-bvec"):
        page.click(element_id)
    mrtrix = _downloaded(downloads, "gradienttools-scheme.b")
    fsl = read_scheme([_downloaded(downloads, "gradienttools-scheme.bval"),
                       _downloaded(downloads, "gradienttools-scheme.bvec")])
    scheme = read_scheme(mrtrix)
    np.testing.assert_allclose(fsl.bvals, scheme.bvals)
    np.testing.assert_allclose(fsl.bvecs, scheme.bvecs, atol=1e-7)
    assert {b: len(i) for b, i in scheme.shell_indices().items()} == SHELLS and scheme.b0_indices().size == 3
    require_tool("dirstat")
    peer = _dirstat(mrtrix)
    for row in page.report_rows[:-1]:
        count, min_angle, mean_angle, energy = peer[int(row[0].split("=")[1])]
        assert int(row[1]) == count
        assert float(row[2]) == pytest.approx(min_angle, abs=0.006)
        assert float(row[3]) == pytest.approx(mean_angle, abs=0.006)
        assert float(row[4]) == pytest.approx(energy, rel=1e-5)


def test_uploading_a_small_nrrd_shows_it(page, tmp_path):
    import SimpleITK as sitk

    from GradientToolsLib.image.phantoms import ct_phantom

    image, _ = ct_phantom(shape=(24, 40, 32), spacing=(1.2, 1.2, 2.0), noise_std=10.0, seed=4)
    volume = sitk.GetImageFromArray(image)
    volume.SetSpacing((1.2, 1.2, 2.0))
    path = tmp_path / "small ct.nrrd"
    sitk.WriteImage(volume, str(path), True)
    before = page.frame_source()
    page.element("gt-upload").send_keys(str(path))
    page.wait_for_frame(before, "the upload")
    assert not page.text("gt-error"), page.text("gt-error")
    info = page.text("gt-volume-info")
    assert info.startswith("small ct:") and "32 x 40 x 24 voxels" in info and "1.2 x 1.2 x 2 mm" in info
    assert drawn_share(page.frame()) > 0.05


def test_dragging_the_view_rotates_it(page):
    from selenium.webdriver.common.action_chains import ActionChains

    before, previous = page.frame(), page.frame_source()
    ActionChains(page.driver).move_to_element(page.element("gt-view")).click_and_hold() \
        .move_by_offset(150, 0).release().perform()
    page.wait_for_frame(previous, "a drag in the view")
    assert np.abs(page.frame() - before).mean() > 1.0


def test_a_second_tab_shares_the_session_and_both_can_act_at_once(app, page, downloads):
    other = Page(chromium(PATHS, width=960, height=640), app.url)
    try:
        other.wait(lambda: other.idle() and other.frame_source(), "the second tab's first frame")
        assert other.text("gt-volume-info") == page.text("gt-volume-info")  # one shared session
        assert other.text("gt-report") == page.text("gt-report")
        _set_field(other, "gt-shells", "1500:16")
        start = threading.Barrier(2)
        failures = []

        def click(tab, element_id):
            try:
                start.wait(30)
                tab.click(element_id)
            except Exception as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=click, args=(other, "gt-generate")),
                   threading.Thread(target=click, args=(page, "gt-suggest"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        for tab in (page, other):
            tab.wait(lambda tab=tab: tab.idle() and "b = 1500" in tab.text("gt-report")
                     and "small ct" in tab.text("gt-volume-info") and tab.text("gt-noise"),
                     "both actions in every tab")
            assert not tab.text("gt-error"), tab.text("gt-error")
        assert app.process.poll() is None, "the server died"
        assert page.text("gt-noise") == other.text("gt-noise")
        assert page.text("gt-report") == other.text("gt-report")
    finally:
        other.driver.quit()


def test_the_server_stops_cleanly_on_sigterm(app, page):
    assert app.stop(signal.SIGTERM) == 0
    assert "Traceback" not in app.stderr()
