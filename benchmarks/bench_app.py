"""The browser app's speed: server start, first frame, and click to updated image, on this machine.

Run as a script: ``python benchmarks/bench_app.py [--clicks 6] [--width 960 --height 640]``.
Needs the ``app`` and ``test`` extras and Debian's chromium + chromium-driver.

What is measured (wall clock; the machine's load counts, so compare the ratio, not the seconds):

* server start: from launching ``python -m GradientToolsLib app --port 0`` to its printed URL (imports,
  Slicer's logics, the CT phantom, the page);
* first frame: from the browser opening the URL to the first frame of the 3D view decoded in the page;
* click to image: from clicking Apply (or Flat) to the new frame decoded in the page, alternating;
  beside it the server's own render time of that frame (the page's ``gt-frame``);
* the peer: the same frame rendered by :class:`GradientToolsLib.mrml.OffscreenSlicer`'s view in this
  process (Slicer's pipeline without server, JPEG or browser; the render call only, not
  ``OffscreenSlicer.render``, whose vtkWindowToImageFilter renders the window a second time), same
  phantom, preset, camera and view size.

Clicks and peer renders take turns, so both see the same machine load. The ratio click-to-image /
offscreen render is the cost of serving the view to a browser.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Testing", "app"))  # the tests' app process and browser helpers


def _browser_paths() -> dict:
    import shutil

    paths = {"chromium": shutil.which("chromium") or shutil.which("chromium-browser"),
             "driver": shutil.which("chromedriver")}
    if not all(paths.values()):
        sys.exit("bench_app: needs chromium and chromium-driver (apt-get install chromium chromium-driver)")
    return paths


class _Peer:
    """The same frames rendered by OffscreenSlicer's view in this process, one per click."""

    def __init__(self, size) -> None:
        import asyncio

        from GradientToolsLib.app.session import Session

        self.loop = asyncio.new_event_loop()
        self.session = Session(width=size[0], height=size[1])
        self.loop.run_until_complete(self.session.load_phantom())
        self.loop.run_until_complete(self.session.suggest())
        self.session.offscreen.view.render()  # the first render uploads the volume; not a click's cost

    def render(self, applied: bool) -> float:
        from GradientToolsLib import mrml

        display = self.session.display_of(self.session.active)
        if applied:
            mrml.apply_gradient_opacity(display, self.session.suggestion.points)
        else:
            mrml.reset_gradient_opacity(display)
        started = time.perf_counter()
        self.session.offscreen.view.render()
        return time.perf_counter() - started

    def close(self) -> None:
        self.session.close()
        self.loop.close()


def measure(clicks: int, width: int, height: int) -> dict:
    """Server start, first frame, then clicks and peer renders taking turns (same machine load)."""
    from app_support import AppProcess, Page, chromium

    server = AppProcess()
    driver = chromium(_browser_paths(), width=width, height=height)
    peer = None
    try:
        started = time.perf_counter()
        page = Page(driver, server.url)
        page.wait(lambda: page.idle() and page.frame_source(), "the first frame")
        first_frame = time.perf_counter() - started
        view = page.frame().shape
        page.click("gt-suggest")
        page.wait(lambda: page.idle() and page.text("gt-noise"), "the suggestion")
        peer = _Peer((view[1], view[0]))
        click_seconds, render_seconds, peer_seconds = [], [], []
        for i in range(clicks):
            button = "gt-apply" if i % 2 == 0 else "gt-reset"
            previous = page.frame_source()
            started = time.perf_counter()
            page.click(button)
            page.wait_for_frame(previous, button)
            click_seconds.append(time.perf_counter() - started)
            render_seconds.append(float(re.search(r"last ([\d.]+) s", page.text("gt-frame")).group(1)))
            peer_seconds.append(peer.render(applied=button == "gt-apply"))
    finally:
        driver.quit()
        server.stop()
        if peer is not None:
            peer.close()
    return {"start": server.ready_seconds, "first": first_frame, "view": (view[1], view[0]),
            "clicks": click_seconds, "renders": render_seconds, "peer": peer_seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=6, help="Apply/Flat clicks (default: %(default)s)")
    parser.add_argument("--width", type=int, default=960, help="browser window width (default: %(default)s)")
    parser.add_argument("--height", type=int, default=640,
                        help="browser window height (default: %(default)s)")
    args = parser.parse_args(argv)

    browser = measure(args.clicks, args.width, args.height)
    offscreen = browser["peer"]
    median = statistics.median
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"server start (launch -> URL printed):          {browser['start']:.2f} s")
    print(f"first frame (page opened -> first image):      {browser['first']:.2f} s "
          f"(view {browser['view'][0]} x {browser['view'][1]} pixels)")
    print(f"click -> updated image (Apply / Flat, {len(browser['clicks'])} clicks): median "
          f"{median(browser['clicks']):.2f} s, best {min(browser['clicks']):.2f} s")
    print(f"  of which the server's render of that frame: median {median(browser['renders']):.2f} s")
    print(f"peer: OffscreenSlicer's view renders the same frame: median {median(offscreen):.2f} s, "
          f"best {min(offscreen):.2f} s")
    medians = median(browser["clicks"]) / median(offscreen)
    bests = min(browser["clicks"]) / min(offscreen)
    print(f"ratio click -> image / offscreen render: medians {medians:.2f}x, bests {bests:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
