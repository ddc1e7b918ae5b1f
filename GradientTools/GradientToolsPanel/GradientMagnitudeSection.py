"""The "Gradient magnitude" section: a gradient-magnitude volume of the selected volume."""

import slicer
from slicer.i18n import tr as _

from .PanelChoices import GradientMethod
from .PanelSection import PanelSection


class GradientMagnitudeSection(PanelSection):
    def connectSignals(self) -> None:
        self.connectButtons(gradientApplyButton=self.onApply)

    def updateGui(self, p, busy) -> None:
        self.ui.gradientApplyButton.enabled = bool(p.gradientInputVolume) and not busy
        self.ui.gradientSigmaSpinBox.enabled = p.gradientMethod == GradientMethod.GAUSSIAN

    def onApply(self) -> None:
        p = self.parameterNode
        gaussian = p.gradientMethod == GradientMethod.GAUSSIAN
        output = self.widget.runLongWork(
            _("Computing gradient magnitude"), _("Failed to compute the gradient magnitude."),
            lambda progress: self.logic.computeGradientMagnitude(
                p.gradientInputVolume, p.gradientOutputVolume, method=p.gradientMethod.value,
                sigma=p.gradientSigma if gaussian else None, units=p.gradientUnits.value, progress=progress))
        if output is not None:
            p.gradientOutputVolume = output
            slicer.util.setSliceViewerLayers(background=output, fit=True)
