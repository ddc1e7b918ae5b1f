"""``gradienttools app`` as a command: its options, one-line errors, the printed URL, clean exits.

The server runs as a real process (``python -m GradientToolsLib app --port 0``) and is asked for its
page over HTTP; no browser here (see test_app_browser.py).
"""

from __future__ import annotations

import signal
import socket
import urllib.request

import pytest
from app_support import URL_LINE, AppProcess, require_app_extra
from support import run_cli


def test_help_works_without_the_extra_being_imported():
    code, out, err = run_cli("app", "--help")
    assert code == 0 and err == ""
    assert "'app' extra" in out and "--port" in out and "--timeout" in out


def test_without_the_extra_one_line_names_it(monkeypatch):
    import GradientToolsLib.app as app

    monkeypatch.setattr(app, "REQUIRED", app.REQUIRED + (("gradienttools_no_such_module", "trame"),))
    code, out, err = run_cli("app")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("gradienttools app: error: ")
    assert "'app' extra" in err and "pip install 'gradienttools[app]'" in err and "trame" in err


@pytest.mark.parametrize("args, message", [
    (("--port", "70000"), "not a port number"),
    (("--port", "http"), "'http' is not an integer"),
    (("--timeout", "-1"), "must not be negative"),
    (("no-such-volume.nrrd",), "input file not found: no-such-volume.nrrd"),
])
def test_bad_options_give_one_line_and_exit_2(args, message):
    require_app_extra()
    code, out, err = run_cli("app", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_a_volume_that_cannot_be_read_stops_it_before_it_serves(tmp_path):
    import numpy as np
    import SimpleITK as sitk

    require_app_extra()
    good, bad = tmp_path / "good.nrrd", tmp_path / "broken.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4, 5), np.int16)), str(good))
    bad.write_bytes(b"this is not a NRRD file")
    code, out, err = run_cli("app", good, bad, process=True)
    assert code == 2 and "GradientTools app:" not in out
    assert err.count("\n") == 1 and err.startswith("gradienttools app: error: cannot read image file")


def test_a_port_in_use_gives_one_line():
    require_app_extra()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli("app", "--port", port, process=True)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "address already in use" in err


@pytest.fixture(scope="module")
def servers():
    """Three servers started at once: two to stop with signals, one with ``--timeout 2``."""
    require_app_extra()
    servers = [AppProcess(wait=False), AppProcess(wait=False), AppProcess("--timeout", "2", wait=False)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop(signal.SIGKILL)


def test_it_prints_exactly_its_url_and_serves_the_page(servers):
    for server in servers[:2]:
        assert len(server.stdout) == 1 and URL_LINE.match(server.stdout[0])
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=30) as response:  # follows trame's redirect
            page = response.read().decode("utf-8", "replace")
        assert response.status == 200 and "<html" in page.lower()


@pytest.mark.parametrize("index, sig", [(0, signal.SIGINT), (1, signal.SIGTERM)])
def test_it_exits_cleanly_on_sigint_and_sigterm(servers, index, sig):
    server = servers[index]
    assert server.stop(sig) == 0
    assert "Traceback" not in server.stderr()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=5)


def test_with_a_timeout_it_stops_by_itself_when_no_tab_is_connected(servers):
    server = servers[2]
    assert server.url is not None
    assert server.process.wait(60) == 0
    assert "Traceback" not in server.stderr()
