"""The gradient-histogram plot tells the truth: it names what was analysed, marks the noise level even
beyond the renderer's clamp, and keeps the legend off the data (read back from the figure drawn)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.pyplot as plt  # noqa: E402

from GradientToolsLib import suggest_gradient_opacity  # noqa: E402
from GradientToolsLib.figures import save_histogram_plot  # noqa: E402
from GradientToolsLib.image.phantoms import ct_phantom  # noqa: E402


@pytest.fixture
def drawn(monkeypatch):
    """The figure save_histogram_plot drew (caught when it closes it)."""
    figures = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda figure=None: (figures.append(figure), close(figure)))
    return figures


def _texts(figure):
    return [t.get_text() for axis in figure.axes for t in axis.texts + [axis.title]]


def test_title_names_the_analysed_region_and_the_noise_line_is_drawn(tmp_path, drawn):
    a, _ = ct_phantom((32, 48, 48), (1, 1, 1), noise_std=20, seed=2)
    s = suggest_gradient_opacity(a)
    path = save_histogram_plot(s, str(tmp_path / "h.png"), title="ct", analysed="visible range 150..3000")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    figure = drawn[0]
    assert any("analysed: visible range 150..3000" in t for t in _texts(figure))
    histogram = figure.axes[0]
    lines = [line for line in histogram.get_lines() if line.get_linestyle() == "--"]
    assert lines and lines[0].get_xdata()[0] == pytest.approx(s.noise_p99)
    assert histogram.legend_ is None and figure.legends          # legend outside the axes


def test_noise_beyond_the_clamp_is_marked_at_the_right_edge(tmp_path, drawn):
    a = np.random.default_rng(3).normal(100.0, 10.0, (32, 48, 48)).astype(np.float32)
    s = suggest_gradient_opacity(a)
    assert s.noise_p99 > s.x_max
    save_histogram_plot(s, str(tmp_path / "h.png"))
    figure = drawn[0]
    histogram = figure.axes[0]
    assert histogram.get_xlim()[1] == pytest.approx(s.x_max)
    marks = [t for t in histogram.texts if f"{s.noise_p99:.4g}" in t.get_text()]
    assert marks and "beyond the renderer's clamp" in marks[0].get_text()
    assert any("analysed: whole volume" in t for t in _texts(figure))
    # the legend sits below the axes: its top is under the axes' bottom
    figure.canvas.draw()
    legend_box = figure.legends[0].get_window_extent()
    axes_box = histogram.get_window_extent()
    assert legend_box.y1 <= axes_box.y0
