"""The page: a 3D view rendered by Slicer's pipeline, and the panel's four sections.

Every control has a stable HTML id (tests and scripts find them by it):

=======================  ==========================================================================
id                       what it is
=======================  ==========================================================================
``gt-view``              container of the 3D view (its ``img`` is the latest frame)
``gt-show-volume``,      what the view shows: the volume, its gradient magnitude, the scheme
``gt-show-gradient``,
``gt-show-scheme``
``gt-status``            the running job, its progress message and how many actions wait;
                         ``data-state`` is "busy" or "ready"
``gt-progress``          progress bar of the running job
``gt-frame``             frames rendered so far and the last frame's render time
``gt-error``             the last action's error, one line
``gt-upload``            file input: load a NRRD / NIfTI / MetaImage volume from the browser
``gt-phantom``           load the built-in CT phantom
``gt-volume``            which loaded volume is active
``gt-volume-info``       its size, spacing and value range
``gt-preset``            its volume-rendering preset (Slicer's presets)
``gt-gradient-method``,  gradient options: central / sobel / gaussian, Gaussian sigma, mm / voxel
``gt-gradient-sigma``,
``gt-gradient-units``
``gt-gradient``          compute the gradient magnitude (and show it)
``gt-gradient-info``     its units and value range
``gt-suppression``       the suppression knob (x the measured noise threshold)
``gt-visible-only``      analyse only voxels the preset's scalar opacity shows
``gt-suggest``           suggest a gradient opacity
``gt-noise``             noise estimate and the curve it gave; its warnings in ``gt-warnings``
``gt-histogram``         the gradient histogram with the suggested curve (an image)
``gt-points``            the suggested points as a transfer-function string
``gt-apply``, ``gt-reset``  apply the suggestion to the rendering / make the gradient opacity flat
``gt-shells``            shells, "1000:30, 2000:60"
``gt-b0-count``          number of b=0 volumes
``gt-b0-interleaved``,   b=0 placement
``gt-b0-start``
``gt-ordering``          order for early termination (robust) or shell by shell
``gt-polarity``          balance polarity (eddy currents)
``gt-seed``              random seed
``gt-generate``          design the scheme and show it as points per shell
``gt-report``            quality report, one row per shell (``data-shell`` = b); text in ``gt-report-text``
``gt-download-FORMAT``   download the scheme (fsl: ``gt-download-fsl-bval``, ``gt-download-fsl-bvec``)
=======================  ==========================================================================
"""

from __future__ import annotations

from .controller import AppController, download_buttons

TITLE = "GradientTools"
DRAWER_WIDTH = 420

_STYLE = """
html { overflow-y: hidden; }
.gt-section { font-weight: 600; font-size: 0.95rem; margin: 14px 0 6px 0; }
.gt-small { font-size: 0.8rem; line-height: 1.25; }
#gt-report { font-size: 0.75rem; border-collapse: collapse; width: 100%; }
#gt-report td, #gt-report th { padding: 1px 4px; text-align: right; border-bottom: 1px solid #ddd; }
#gt-report td:first-child, #gt-report th:first-child { text-align: left; }
#gt-histogram { width: 100%; }
#gt-view { position: relative; flex: 1 1 auto; min-height: 0; }
"""


def _button(v3, label, button_id, click, classes="mr-2 mb-2", **options):
    return v3.VBtn(label, id=button_id, click=click, size="small", classes=classes, variant="tonal",
                   **options)


def _volume_section(v3, html, ctl: AppController) -> None:
    html.Div("Volume", classes="gt-section")
    v3.VFileInput(id="gt-upload", label="Load NRRD / NIfTI / MetaImage", accept=".nrrd,.nii,.nii.gz,.mha",
                  density="compact", hide_details=True, prepend_icon="", classes="mb-2",
                  change="trigger('gt_upload', [$event.target.files])")
    _button(v3, "CT phantom", "gt-phantom", ctl.background(ctl.load_phantom))
    v3.VSelect(id="gt-volume", label="Active volume", v_model=("gt_volume_id",), items=("gt_volumes",),
               density="compact", hide_details=True, classes="mb-2")
    v3.VSelect(id="gt-preset", label="Volume-rendering preset", v_model=("gt_preset",), items=("gt_presets",),
               density="compact", hide_details=True, classes="mb-2")
    html.Div("{{ gt_volume_info }}", id="gt-volume-info", classes="gt-small")


def _gradient_section(v3, html, ctl: AppController) -> None:
    html.Div("Gradient magnitude", classes="gt-section")
    with v3.VRow(dense=True):
        with v3.VCol(cols=5):
            v3.VSelect(id="gt-gradient-method", label="Method", v_model=("gt_gradient_method",),
                       items=("['central', 'sobel', 'gaussian']",), density="compact", hide_details=True)
        with v3.VCol(cols=3):
            v3.VTextField(id="gt-gradient-sigma", label="Sigma", v_model_number=("gt_gradient_sigma",),
                          type="number", density="compact", hide_details=True,
                          disabled=("gt_gradient_method !== 'gaussian'",))
        with v3.VCol(cols=4):
            v3.VSelect(id="gt-gradient-units", label="Per", v_model=("gt_gradient_units",),
                       items=("['mm', 'voxel']",), density="compact", hide_details=True)
    _button(v3, "Compute gradient", "gt-gradient", ctl.background(ctl.compute_gradient), classes="mt-2 mb-2")
    html.Div("{{ gt_gradient_info }}", id="gt-gradient-info", classes="gt-small")


def _opacity_section(v3, html, ctl: AppController) -> None:
    html.Div("Gradient opacity", classes="gt-section")
    v3.VSlider(id="gt-suppression", label="Suppression", v_model=("gt_suppression",), min=0.25, max=5.0,
               step=0.05, thumb_label="always", density="compact", hide_details=True, classes="mt-4")
    v3.VCheckbox(id="gt-visible-only", label="Only voxels the preset shows", v_model=("gt_visible_only",),
                 density="compact", hide_details=True)
    _button(v3, "Suggest", "gt-suggest", ctl.background(ctl.suggest))
    _button(v3, "Apply", "gt-apply", ctl.background(ctl.apply_opacity), disabled=("!gt_has_suggestion",))
    _button(v3, "Flat", "gt-reset", ctl.background(ctl.reset_opacity))
    with html.Div(id="gt-noise", classes="gt-small"):
        html.Div("{{ gt_noise }}")
        with html.Ul(id="gt-warnings", v_show="gt_warnings.length", style="color: #b45309"):
            html.Li("{{ w }}", v_for="w in gt_warnings", key="w")
    html.Img(id="gt-histogram", src=("gt_histogram",), v_show="gt_histogram", alt="gradient histogram")
    html.Div("{{ gt_points }}", id="gt-points", classes="gt-small text-medium-emphasis")


def _scheme_section(v3, html, ctl: AppController) -> None:
    html.Div("Diffusion scheme", classes="gt-section")
    v3.VTextField(id="gt-shells", label="Shells (b:directions, ...)", v_model=("gt_shells",),
                  density="compact", hide_details=True, classes="mb-2")
    with v3.VRow(dense=True):
        with v3.VCol(cols=4):
            v3.VTextField(id="gt-b0-count", label="b=0 volumes", v_model_number=("gt_b0_count",),
                          type="number", density="compact", hide_details=True)
        with v3.VCol(cols=8):
            with v3.VBtnToggle(v_model=("gt_b0_placement",), mandatory=True, density="compact",
                               variant="outlined", divided=True):
                v3.VBtn("interleaved", id="gt-b0-interleaved", value="interleaved", size="small")
                v3.VBtn("at start", id="gt-b0-start", value="start", size="small")
    with v3.VRow(dense=True):
        with v3.VCol(cols=8):
            v3.VCheckbox(id="gt-ordering", label="Order for early termination", v_model=("gt_ordering",),
                         true_value="robust", false_value="none", density="compact", hide_details=True)
            v3.VCheckbox(id="gt-polarity", label="Balance polarity", v_model=("gt_polarity",),
                         density="compact", hide_details=True)
        with v3.VCol(cols=4):
            v3.VTextField(id="gt-seed", label="Seed", v_model_number=("gt_seed",), type="number",
                          density="compact", hide_details=True)
    _button(v3, "Generate", "gt-generate", ctl.background(ctl.generate), classes="mt-2 mb-2")
    with html.Table(id="gt-report", v_show="gt_has_scheme"):
        with html.Tr():
            for title in ("shell", "N", "min angle", "mean angle", "E (dirstat)", "SH cond.", "asym."):
                html.Th(title)
        with html.Tr(v_for="row in gt_report_rows", key="row.shell", data_shell=("row.b",),
                     __properties=[("data_shell", "data-shell")]):
            for field in ("shell", "n", "min_angle", "mean_angle", "energy", "condition", "asymmetry"):
                html.Td(f"{{{{ row.{field} }}}}")
    with html.Details(v_show="gt_has_scheme", classes="gt-small"):
        html.Summary("Report as text (dirstat definitions)")
        html.Pre("{{ gt_report_text }}", id="gt-report-text", style="font-size: 0.7rem")
    with html.Div(v_show="gt_has_scheme", classes="mt-2"):
        for button in download_buttons():
            v3.VBtn(button["label"], id=button["id"], size="x-small", variant="outlined", classes="mr-1 mb-1",
                    click=(f"utils.download('{button['file']}', trigger('gt_download', "
                           f"['{button['format']}', {button['index']}]), 'text/plain')"))


def _view_area(v3, html, client, ctl: AppController, view_template: str) -> None:
    with html.Div(classes="d-flex flex-column", style="height: 100%"):
        with v3.VToolbar(density="compact", color="grey-lighten-4"):
            with v3.VBtnToggle(v_model=("gt_show",), mandatory=True, density="compact", classes="ml-2"):
                v3.VBtn("Volume", id="gt-show-volume", value="volume", size="small")
                v3.VBtn("Gradient", id="gt-show-gradient", value="gradient", size="small",
                        disabled=("!gt_has_gradient",))
                v3.VBtn("Scheme", id="gt-show-scheme", value="scheme", size="small",
                        disabled=("!gt_has_scheme",))
            v3.VSpacer()
            html.Span("{{ gt_frames }} frames, last {{ gt_frame_seconds }} s", id="gt-frame",
                      classes="gt-small mr-4")
        with html.Div(id="gt-view"):
            client.ServerTemplate(name=view_template)


def build_page(server, ctl: AppController, view_template: str):
    """Lay the page out on ``server`` (trame vuetify 3); ``view_template`` is the 3D view's template."""
    from trame.ui.vuetify3 import VAppLayout
    from trame.widgets import client, html
    from trame.widgets import vuetify3 as v3

    with VAppLayout(server, full_height=True) as layout:
        client.Style(_STYLE)
        with v3.VAppBar(density="compact", elevation=1):
            v3.VToolbarTitle(TITLE, style="flex: 0 0 auto")
            with html.Div(id="gt-status", classes="gt-small mx-4", style="flex: 1 1 auto",
                          data_state=("gt_busy || gt_waiting ? 'busy' : 'ready'",),
                          __properties=[("data_state", "data-state")]):
                html.Span("{{ gt_job }}{{ gt_progress_message ? ': ' + gt_progress_message : '' }}",
                          v_show="gt_busy")
                html.Span(" ({{ gt_waiting }} waiting)", v_show="gt_waiting > 0")
                html.Span("ready", v_show="!gt_busy && !gt_waiting")
            html.Div("{{ gt_error }}", id="gt-error", v_show="gt_error", classes="gt-small mr-4",
                     style="color: #b91c1c")
            v3.VProgressLinear(id="gt-progress", model_value=("gt_progress",), active=("gt_busy",),
                               indeterminate=("gt_busy && gt_progress <= 0",), absolute=True,
                               location="bottom",
                               color="amber-darken-2")
        with v3.VNavigationDrawer(permanent=True, width=DRAWER_WIDTH):
            with html.Div(classes="pa-3"):
                _volume_section(v3, html, ctl)
                v3.VDivider(classes="mt-3")
                _gradient_section(v3, html, ctl)
                v3.VDivider(classes="mt-3")
                _opacity_section(v3, html, ctl)
                v3.VDivider(classes="mt-3")
                _scheme_section(v3, html, ctl)
        with v3.VMain(style="height: 100vh"):
            _view_area(v3, html, client, ctl, view_template)
    return layout
