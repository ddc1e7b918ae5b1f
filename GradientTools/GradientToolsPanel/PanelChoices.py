"""The panel's combo-box choices (PanelChoice enums) and the translatable labels they show."""

import enum

from slicer.i18n import tr as _


class PanelChoice(enum.Enum):
    """A combo-box choice: the parameter node stores the member name, the combo box shows label()
    (the parameter-node wrapper's enum connector), so the text is translatable; ``value`` is the
    library's keyword."""

    def label(self):
        return _choiceLabels()[self]


GradientMethod = PanelChoice("GradientMethod", [("CENTRAL", "central"), ("SOBEL", "sobel"),
                                              ("GAUSSIAN", "gaussian")])
GradientUnits = PanelChoice("GradientUnits", [("MM", "mm"), ("VOXEL", "voxel")])
B0Placement = PanelChoice("B0Placement", [("INTERLEAVED", "interleaved"), ("START", "start")])
Ordering = PanelChoice("Ordering", [("ROBUST", "robust"), ("NONE", "none")])
SchemeRadius = PanelChoice("SchemeRadius", [("B_VALUE", "b-value"), ("UNIT", "unit")])
ExportFormat = PanelChoice("ExportFormat", [("FSL", "fsl"), ("MRTRIX", "mrtrix"), ("SIEMENS", "siemens"),
                                            ("GE", "ge"), ("PHILIPS", "philips"), ("NRRD", "nrrd")])


def _choiceLabels():
    """What the combo boxes show, translated when asked for."""
    return {
        GradientMethod.CENTRAL: _("central differences"),
        GradientMethod.SOBEL: _("Sobel"),
        GradientMethod.GAUSSIAN: _("derivative of Gaussian"),
        GradientUnits.MM: _("per mm"),
        GradientUnits.VOXEL: _("per voxel step (renderer units)"),
        B0Placement.INTERLEAVED: _("interleaved"),
        B0Placement.START: _("all at the start"),
        Ordering.ROBUST: _("robust to early termination"),
        Ordering.NONE: _("optimiser order"),
        SchemeRadius.B_VALUE: _("radius from b-value"),
        SchemeRadius.UNIT: _("unit sphere"),
        ExportFormat.FSL: _("FSL (.bval, .bvec)"),
        ExportFormat.MRTRIX: _("MRtrix (.b)"),
        ExportFormat.SIEMENS: _("Siemens (.dvs)"),
        ExportFormat.GE: _("GE (tensor .dat)"),
        ExportFormat.PHILIPS: _("Philips (dti_vectors_input)"),
        ExportFormat.NRRD: _("NRRD DWMRI keys"),
    }
