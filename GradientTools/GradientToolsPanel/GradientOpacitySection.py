"""The "Gradient opacity" section: suggested, typed, applied and reset gradient opacity."""

import slicer
from slicer.i18n import tr as _

from .PanelSection import PanelSection


class GradientOpacitySection(PanelSection):
    def connectSignals(self) -> None:
        self.connectButtons(opacitySuggestButton=self.onSuggest, opacityApplyButton=self.onApply,
                            opacityResetButton=self.onReset)
        # the typed function is taken on editingFinished, not bound (see GradientToolsParameterNode)
        self.ui.opacityPointsLineEdit.connect("editingFinished()", self.onPointsEdited)
        self.ui.opacityPointsLineEdit.connect("textChanged(QString)", self._updateApplyButton)

    def updateGui(self, p, busy) -> None:
        self.ui.opacitySuggestButton.enabled = bool(p.opacityVolume) and not busy
        self.ui.opacityResetButton.enabled = bool(p.opacityVolume) and not busy
        lineEdit = self.ui.opacityPointsLineEdit
        # text the user is still typing (modified, editing not finished) is not overwritten
        if lineEdit.text != p.opacityPoints and not lineEdit.modified:
            lineEdit.text = p.opacityPoints
        self._updateApplyButton()
        if p.opacityChart:
            self.logic.showChart(self.ui.opacityPlotWidget, p.opacityChart)

    def _updateApplyButton(self, text=None) -> None:
        p = self.parameterNode
        typed = self.ui.opacityPointsLineEdit.text.strip()
        self.ui.opacityApplyButton.enabled = bool(p and p.opacityVolume and typed and not self.widget.busy)

    def sceneClosed(self) -> None:
        self.showSuggestion(None)
        self.ui.opacityPointsLineEdit.modified = False

    def onPointsEdited(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to store the gradient-opacity function.")):
            lineEdit = self.ui.opacityPointsLineEdit
            if self.parameterNode is not None and lineEdit.modified:
                lineEdit.modified = False
                self.parameterNode.opacityPoints = lineEdit.text.strip()

    def showSuggestion(self, suggestion) -> None:
        """Noise estimate and the suggestion's warnings (issue 9's ``warnings``, absent before it)."""
        if suggestion is None:
            self.ui.opacityNoiseLabel.text = "-"
            warnings = []
        else:
            self.ui.opacityNoiseLabel.text = _("{sigma:.4g} (scalar units)").format(
                sigma=float(suggestion.noise_sigma))
            warnings = [str(w) for w in (getattr(suggestion, "warnings", None) or [])]
        self.ui.opacityWarningsLabel.text = "\n".join(warnings)
        self.ui.opacityWarningsLabel.visible = bool(warnings)

    def onSuggest(self) -> None:
        p = self.parameterNode
        suggestion = self.widget.runLongWork(
            _("Analysing gradients"), _("Failed to suggest a gradient opacity."),
            lambda progress: self.logic.suggestGradientOpacity(
                p.opacityVolume, visibleOnly=p.opacityVisibleOnly, suppression=p.opacitySuppression,
                progress=progress))
        if suggestion is None:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to show the suggestion."), waitCursor=True):
            self.showSuggestion(suggestion)
            p.opacityChart = self.logic.histogramChart(suggestion, p.opacityChart)
            self.ui.opacityPointsLineEdit.modified = False
            p.opacityPoints = self.logic.pointsToString(suggestion.points)

    def onApply(self) -> None:
        self.onPointsEdited()  # text typed but not yet confirmed with Enter counts
        p = self.parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to apply the gradient opacity."), waitCursor=True):
            self.logic.applyGradientOpacity(p.opacityVolume, p.opacityPoints)

    def onReset(self) -> None:
        p = self.parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to reset the gradient opacity."), waitCursor=True):
            self.logic.resetGradientOpacity(p.opacityVolume)
