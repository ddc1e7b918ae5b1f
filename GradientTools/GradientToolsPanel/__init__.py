"""The GradientTools panel's sections and combo-box choices (the module file is GradientTools.py).

====================================  ===========================================================
module                                job
====================================  ===========================================================
``PanelChoices``                      the combo-box enums and their translatable labels
``PanelSection``                      the base class: signals, part of updateGui, scene-close reset
``GradientMagnitudeSection``          "Gradient magnitude"
``GradientOpacitySection``            "Gradient opacity"
``DiffusionSchemeSection``            "Diffusion scheme"
``GradientCheckSection``              "Gradient table check"
====================================  ===========================================================

A section computes nothing: it calls the module's logic (GradientToolsLogic), which delegates to
GradientToolsLib. GradientTools.py imports this package afresh each time it runs (see its
``_forgetPanelPackage``), so Slicer's Reload takes edits here too. Slicer installs every file of
this folder listed in GradientTools/CMakeLists.txt (MODULE_PYTHON_SCRIPTS) beside the module.
"""
