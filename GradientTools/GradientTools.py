"""GradientTools: gradient-magnitude volumes, gradient-opacity transfer functions and diffusion
gradient schemes in 3D Slicer.

This file is a thin shell: every computation lives in the GradientToolsLib package (numpy, scipy,
vtk) and its MRML bridge GradientToolsLib.mrml, which are tested outside Slicer on slicer-core.
The logic class is usable from the Python console::

    logic = slicer.util.getModuleLogic("GradientTools")
    gradientNode = logic.computeGradientMagnitude(getNode("CTChest"), units="voxel")

It behaves the same on Slicer 5.8 and 5.10: widgets are bound with ``connectParametersToGui`` (whose
tag 5.8 returns, unlike ``connectGui``), and the free-text opacity field is synced on editingFinished
(5.8's line-edit connector rewrites the text, moving the cursor, on every keystroke).

The panel's sections (one PanelSection subclass per collapsible section) and its combo-box choices
live in the GradientToolsPanel package beside this file, which is imported afresh each time this
file runs, so that Slicer's Reload (which runs only this file again) takes edits to them too.
"""

import os
import sys
from typing import Annotated, Optional

import qt
import slicer
import vtk
from slicer import vtkMRMLDiffusionWeightedVolumeNode, vtkMRMLPlotChartNode, vtkMRMLScalarVolumeNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin

#: the package of the panel's sections and choices, in this file's folder
PANEL_PACKAGE = "GradientToolsPanel"


def _forgetPanelPackage():
    """Drop the panel package's modules from sys.modules, so the imports below run them again.

    Slicer's Reload (slicer.util.reloadScriptedModule, 5.8 and 5.10) runs this file again but takes
    the modules it imports from sys.modules: without this, edited sections would stay as first
    loaded. Slicer puts this file's folder on sys.path; it is added here too when it is missing.
    """
    moduleFolder = os.path.dirname(os.path.abspath(__file__))
    if moduleFolder not in sys.path:
        sys.path.append(moduleFolder)
    for name in [n for n in sys.modules if n == PANEL_PACKAGE or n.startswith(PANEL_PACKAGE + ".")]:
        del sys.modules[name]


_forgetPanelPackage()
from GradientToolsPanel.DiffusionSchemeSection import DiffusionSchemeSection
from GradientToolsPanel.GradientCheckSection import GradientCheckSection
from GradientToolsPanel.GradientMagnitudeSection import GradientMagnitudeSection
from GradientToolsPanel.GradientOpacitySection import GradientOpacitySection
from GradientToolsPanel.PanelChoices import (
    B0Placement,
    ExportFormat,
    GradientMethod,
    GradientUnits,
    Ordering,
    SchemeRadius,
)

#: The extension's GitHub repository: the one place it is written. CMakeLists.txt, GradientTools.json
#: and README.md carry copies (the ExtensionsIndex checker reads them as literal text); after changing
#: this line run ``python scripts/sync_repository.py``. Testing/module/test_module_static.py checks them.
REPOSITORY = "gradienttools/SlicerGradientTools"
REPOSITORY_URL = "https://github.com/" + REPOSITORY

#: singleton tag of the panel's own plot view node
PLOT_VIEW_TAG = "GradientToolsPlot"


def _importLibrary():
    """Import GradientToolsLib; when running from source, it sits at the extension root."""
    try:
        import GradientToolsLib  # noqa: F401
    except ImportError:
        extensionRoot = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if extensionRoot not in sys.path:
            sys.path.append(extensionRoot)
    import GradientToolsLib.mrml

    return GradientToolsLib


#
# GradientTools
#


class GradientTools(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Gradient Tools")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Rendering"),
                                  translate("qSlicerAbstractCoreModule", "Diffusion")]
        self.parent.dependencies = ["VolumeRendering", "Markups", "Plots"]
        self.parent.contributors = ["GradientTools developers"]
        self.parent.helpText = _("""
Gradient-magnitude volumes in physical or renderer units, automatic gradient-opacity transfer
functions for volume rendering (suppressing noise in homogeneous tissue), and electrostatic
diffusion gradient schemes (multi-shell, b0s, ordering, polarity) with a 3D preview, a quality
report and export to FSL, MRtrix and scanner formats.
See <a href="{url}">the project page</a> for the documentation.
""").format(url=REPOSITORY_URL)
        self.parent.acknowledgementText = _("""
Developed by the GradientTools developers. Gradient magnitudes follow VTK's
vtkImageGradientMagnitude and the central differences of VTK's GPU ray caster; multi-shell schemes
use the weighting of Caruyer et al. (Magn Reson Med 69:1534, 2013); scheme statistics use the
definitions of MRtrix3's dirstat. The computations live in the GradientToolsLib Python package,
which also provides the <code>gradienttools</code> command line.
""")


#
# GradientToolsParameterNode
#


@parameterNodeWrapper
class GradientToolsParameterNode:
    """The panel's state, saved with the scene.

    gradient*: the gradient-magnitude section; opacity*: the gradient-opacity section;
    scheme*: the diffusion-scheme section; check*: the gradient-table check section (its result is
    not a parameter: the section keeps it until another volume is selected or the scene closes).
    Not bound through SlicerParameterName (synced by the sections): opacityPoints (free text, taken
    on editingFinished), opacityChart, schemeShells (the shells table), schemeReport (read-only
    text, rewritten only when it changes).
    """

    gradientInputVolume: vtkMRMLScalarVolumeNode
    gradientOutputVolume: vtkMRMLScalarVolumeNode
    gradientMethod: GradientMethod = GradientMethod.CENTRAL
    gradientSigma: Annotated[float, WithinRange(0.1, 100.0)] = 1.0
    gradientUnits: GradientUnits = GradientUnits.MM

    opacityVolume: vtkMRMLScalarVolumeNode
    # the slider shows 2 decimals: the range and default must be exact at 2 decimals (CTK rounds them)
    opacitySuppression: Annotated[float, WithinRange(0.25, 5.0)] = 1.0
    opacityVisibleOnly: bool = True
    opacityPoints: str = ""
    opacityChart: vtkMRMLPlotChartNode

    schemeShells: str = "1000:30, 2000:60"
    schemeB0Count: Annotated[int, WithinRange(0, 100)] = 6
    schemeB0Placement: B0Placement = B0Placement.INTERLEAVED
    schemeOrdering: Ordering = Ordering.ROBUST
    schemeOptimizePolarity: bool = True
    schemeSeed: Annotated[int, WithinRange(0, 2**31 - 1)] = 0
    schemeRadius: SchemeRadius = SchemeRadius.B_VALUE
    schemeShowAntipodes: bool = False
    # b-value of the longest vector of Siemens/GE files (they do not store it); 0: not set
    schemeImportBMax: Annotated[float, WithinRange(0.0, 100000.0)] = 0.0
    schemeExportFormat: ExportFormat = ExportFormat.FSL
    schemeReport: str = ""

    checkDwiVolume: vtkMRMLDiffusionWeightedVolumeNode
    # None: a mask from the b=0 volumes
    checkMaskVolume: vtkMRMLScalarVolumeNode


#
# GradientToolsWidget
#


class GradientToolsWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The panel: parameter-node lifecycle, long work, and one PanelSection per collapsible section."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self.sections = {}
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._boundWidgets = {}
        self._busy = False

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/GradientTools.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = GradientToolsLogic()
        # parameter name -> widget, from the .ui's SlicerParameterName properties
        self._boundWidgets = {widget.property("SlicerParameterName"): widget
                              for widget in uiWidget.findChildren(qt.QWidget)
                              if widget.property("SlicerParameterName")}
        # one entry per collapsible section; a new section is one more PanelSection subclass here
        self.sections = {"gradient": GradientMagnitudeSection(self), "opacity": GradientOpacitySection(self),
                         "scheme": DiffusionSchemeSection(self), "check": GradientCheckSection(self)}
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndImportEvent, self.onSceneEndImport)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.setParameterNode(None)
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)
        for section in self.sections.values():
            section.sceneClosed()

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def onSceneEndImport(self, caller, event) -> None:
        # a loaded scene replaces the parameter node's content while the nodes it references are not
        # yet in the scene (its ModifiedEvent comes first): bind again once they are
        if self.parent.isEntered:
            self.initializeParameterNode()

    @property
    def parameterNode(self) -> Optional[GradientToolsParameterNode]:
        return self._parameterNode

    @property
    def busy(self) -> bool:
        """True while runLongWork runs (its dialog is open)."""
        return self._busy

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        firstVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
        if firstVolume:
            if not self._parameterNode.gradientInputVolume:
                self._parameterNode.gradientInputVolume = firstVolume
            if not self._parameterNode.opacityVolume:
                self._parameterNode.opacityVolume = firstVolume
        firstDwi = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLDiffusionWeightedVolumeNode")
        if firstDwi and not self._parameterNode.checkDwiVolume:
            self._parameterNode.checkDwiVolume = firstDwi

    def setParameterNode(self, inputParameterNode: Optional[GradientToolsParameterNode]) -> None:
        """Bind the widgets to a parameter node (None: unbind); the previous binding is undone first."""
        if self._parameterNodeGuiTag is not None:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGui)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectParametersToGui(self._boundWidgets)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGui)
            self.updateGui()

    def updateGui(self, caller=None, event=None) -> None:
        """Enable buttons and refresh what is not bound (shells table, plot, text fields)."""
        if self._parameterNode is None:
            return
        for section in self.sections.values():
            section.updateGui(self._parameterNode, self._busy)

    # -- long work ---------------------------------------------------------------------------------

    def runLongWork(self, title, errorMessage, work):
        """Run ``work(progress)`` under a modal, cancellable progress dialog.

        ``progress`` is the library's callback; it raises OperationCancelled once the user pressed
        Cancel, and the library then stops without making a node. Returns what ``work`` returns, or
        None if cancelled or if other work is still running (a second click while busy). Errors are
        shown (tryWithErrorDisplay) and re-raised. The action buttons are disabled meanwhile and the
        dialog is released afterwards.
        """
        if self._busy:
            return None
        self._busy = True
        self.updateGui()
        dialog = slicer.util.createProgressDialog(windowTitle=title, labelText=title, maximum=100,
                                                  windowModality=qt.Qt.WindowModal, autoClose=False,
                                                  autoReset=False)
        try:
            with slicer.util.tryWithErrorDisplay(errorMessage):
                try:
                    return work(self._progressCallback(dialog, title))
                except self.logic.lib.OperationCancelled:
                    slicer.util.showStatusMessage(_("{title}: cancelled").format(title=title), 5000)
                    return None
        finally:
            dialog.close()
            # unparented, the dialog is deleted with its last Python reference (as DICOMBrowser does)
            dialog.setParent(None)
            self._busy = False
            self.updateGui()

    def _progressCallback(self, dialog, title):
        cancelled = self.logic.lib.OperationCancelled

        def progress(fraction, message=""):
            dialog.value = int(round(100 * fraction))
            dialog.labelText = f"{title}\n{message}" if message else title
            slicer.app.processEvents()
            if dialog.wasCanceled:
                raise cancelled(title)

        return progress


#
# GradientToolsLogic
#


class GradientToolsLogic(ScriptedLoadableModuleLogic):
    """Console-friendly entry points; each one delegates to GradientToolsLib."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        self.lib = _importLibrary()
        self.mrml = self.lib.mrml

    def getParameterNode(self):
        return GradientToolsParameterNode(super().getParameterNode())

    # gradient magnitude
    def computeGradientMagnitude(self, inputVolume, outputVolume=None, method="central", sigma=None,
                                 units="mm", progress=None):
        """Float32 gradient-magnitude volume in the input's geometry (see GradientToolsLib.mrml)."""
        return self.mrml.compute_gradient_magnitude(inputVolume, outputVolume, method=method, sigma=sigma,
                                                    units=units, progress=progress)

    # gradient opacity
    def suggestGradientOpacity(self, volumeNode, visibleOnly=True, progress=None, **options):
        """Suggested gradient-opacity points (renderer units) with the histogram and noise estimate.

        With ``visibleOnly`` and an existing volume rendering, only voxels its scalar opacity shows
        are analysed. ``options`` go to GradientToolsLib.suggest_gradient_opacity
        (e.g. ``suppression=1.5``).
        """
        propertyNode = None
        if visibleOnly:
            display = slicer.modules.volumerendering.logic().GetFirstVolumeRenderingDisplayNode(volumeNode)
            propertyNode = display.GetVolumePropertyNode() if display else None
        return self.mrml.suggest_gradient_opacity_for_volume(volumeNode, propertyNode, progress=progress,
                                                             **options)

    def volumeRenderingDisplayNode(self, volumeNode, preset=None):
        logic = slicer.modules.volumerendering.logic()
        return self.mrml.volume_rendering_display_node(logic, volumeNode, preset)

    def applyGradientOpacity(self, volumeNode, points):
        """Set the gradient opacity of the volume's rendering (created if needed); points or a string."""
        display = self.volumeRenderingDisplayNode(volumeNode)
        self.mrml.apply_gradient_opacity(display.GetVolumePropertyNode(), points)
        return display

    def resetGradientOpacity(self, volumeNode):
        display = self.volumeRenderingDisplayNode(volumeNode)
        self.mrml.reset_gradient_opacity(display.GetVolumePropertyNode())
        return display

    def pointsToString(self, points):
        return self.mrml.points_to_string(points)

    def histogramChart(self, suggestion, chartNode=None):
        return self.mrml.gradient_histogram_plot(slicer.mrmlScene, suggestion, chartNode)

    def showChart(self, plotWidget, chartNode):
        """Show a chart in a qMRMLPlotWidget through this module's own plot view node, which ignores
        the charts other modules select (chart propagation off)."""
        viewNode = self.mrml.panel_plot_view_node(slicer.mrmlScene, chartNode, PLOT_VIEW_TAG)
        plotWidget.setMRMLPlotViewNode(viewNode)
        return viewNode

    # diffusion schemes
    def parseShells(self, text):
        return self.mrml.parse_shells(text)

    def formatShells(self, shells):
        return self.mrml.format_shells(shells)

    def generateScheme(self, shells, b0Count=6, b0Placement="interleaved", ordering="robust",
                       optimizePolarity=True, seed=0, progress=None):
        """Electrostatic multi-shell scheme; ``shells`` is [(b, count), ...] or {b: count}."""
        return self.mrml.generate_scheme(shells, b0_count=b0Count, b0_placement=b0Placement,
                                         ordering=ordering, optimize_polarity=optimizePolarity, seed=seed,
                                         progress=progress)

    def schemeReportText(self, scheme):
        return self.lib.format_report(self.lib.scheme_report(scheme))

    def schemePreviewNodes(self):
        """The point lists of the scene's scheme preview (made by showSchemeAsMarkups)."""
        return [node for node in slicer.util.getNodesByClass("vtkMRMLMarkupsFiducialNode")
                if node.GetAttribute(self.mrml.ATTRIBUTE_PREFIX + "BValues") is not None]

    def showSchemeAsMarkups(self, scheme, radius="b-value", showAntipodes=False, replace=True):
        """One locked point list per shell, centred on the scene's origin; replaces the last preview."""
        if replace:
            for node in self.schemePreviewNodes():
                slicer.mrmlScene.RemoveNode(node)
        return self.mrml.scheme_to_markups(slicer.mrmlScene, scheme, radius=radius,
                                           show_antipodes=showAntipodes)

    def schemeFromScene(self):
        """The scheme the scene's preview shows (b0s and order included), or None without a preview."""
        nodes = self.schemePreviewNodes()
        return self.mrml.markups_to_scheme(nodes) if nodes else None

    def readScheme(self, paths, bMax=None):
        """Read a scheme file (or an FSL pair); ``bMax`` is needed for Siemens and GE files."""
        return self.lib.read_scheme(paths, b_max=bMax)

    def writeScheme(self, scheme, prefix, fileFormat="fsl", referenceVolume=None):
        """Write the scheme's files; with ``referenceVolume`` (the volume the table belongs to) the
        vectors are converted into the file's frame, else written as designed."""
        return self.mrml.export_scheme(scheme, prefix, fileFormat, referenceVolume)

    def attachSchemeToDWI(self, dwiNode, scheme):
        self.mrml.attach_scheme_to_dwi(dwiNode, scheme)

    # gradient table check
    def checkGradientTable(self, dwiNode, maskNode=None, apply=False, progress=None):
        """Score the 24 axis flips/swaps of a DWI node's gradient table by fibre coherence; with
        ``apply``, write the winner into the node. Returns GradientToolsLib's GradientCheck."""
        from GradientToolsLib.mrml import gradient_check

        result = gradient_check.check_gradient_table_for_node(dwiNode, maskNode, progress=progress)
        if apply:
            self.applyGradientCorrection(dwiNode, result)
        return result

    def applyGradientCorrection(self, dwiNode, result):
        """Write a check's winning table into the DWI node (measurement frame); False if none needed."""
        from GradientToolsLib.mrml import gradient_check

        return gradient_check.apply_correction(dwiNode, result)

    def describeCandidate(self, candidate):
        """A (permutation, signs) of a check as text, e.g. "+J -I +K": the new I, J, K components are
        the old J, minus the old I and the old K (voxel axes)."""
        from GradientToolsLib.diffusion.gradcheck import describe

        return describe(candidate)


#
# GradientToolsTest
#


class GradientToolsTest(ScriptedLoadableModuleTest):
    """In-Slicer tests: volumes and schemes are made in code, nothing is downloaded.

    The panel tests select the module as a user does and check what broke on real Slicer before:
    bindings through enter/exit/scene close/scene load (5.8), the plot's X columns and its own chart,
    and modal, cancellable progress. They pass on Slicer 5.8 and 5.10.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        for test in (self.test_GradientMagnitudeGeometryAndValues, self.test_GradientOpacityRoundTrip,
                     self.test_HistogramPlotUsesXColumns, self.test_SchemeMarkupsAndReadback,
                     self.test_WidgetLoads, self.test_PanelBindingsSurviveEnterExitCloseAndLoad,
                     self.test_PanelPlotKeepsItsChart, self.test_OpacityWarningsShown,
                     self.test_ProgressIsModalAndCancellable, self.test_GradientTableCheckAndCorrection):
            self.setUp()
            test()

    def _rampVolume(self):
        import numpy as np

        k, j, i = np.meshgrid(np.arange(10), np.arange(12), np.arange(14), indexing="ij")
        volume = slicer.util.addVolumeFromArray((2.0 * i + 3.0 * j - 1.0 * k).astype(np.int16), name="ramp")
        volume.SetSpacing(0.5, 1.5, 2.0)
        volume.SetIJKToRASDirections(0, -1, 0, 1, 0, 0, 0, 0, 1)
        return volume

    def _phantom(self):
        from GradientToolsLib import ct_phantom

        image, _labels = ct_phantom(shape=(24, 40, 40), noise_std=20.0, seed=1)
        return slicer.util.addVolumeFromArray(image, name="phantom")

    def _enterPanel(self):
        slicer.util.selectModule("GradientTools")
        return slicer.modules.GradientToolsWidget

    def test_GradientMagnitudeGeometryAndValues(self):
        import numpy as np

        self.delayDisplay("Gradient magnitude")
        volume = self._rampVolume()
        before = slicer.util.arrayFromVolume(volume).copy()
        logic = GradientToolsLogic()
        output = logic.computeGradientMagnitude(volume, units="mm")
        values = slicer.util.arrayFromVolume(output)
        self.assertEqual(values.dtype, np.float32)
        expected = np.sqrt((2.0 / 0.5) ** 2 + (3.0 / 1.5) ** 2 + (1.0 / 2.0) ** 2)
        np.testing.assert_allclose(values[1:-1, 1:-1, 1:-1], expected, rtol=1e-5)
        np.testing.assert_array_equal(slicer.util.arrayFromVolume(volume), before)
        a, b = vtk.vtkMatrix4x4(), vtk.vtkMatrix4x4()
        volume.GetIJKToRASMatrix(a)
        output.GetIJKToRASMatrix(b)
        for r in range(4):
            for c in range(4):
                self.assertAlmostEqual(a.GetElement(r, c), b.GetElement(r, c))
        voxel = logic.computeGradientMagnitude(volume, units="voxel")
        np.testing.assert_allclose(slicer.util.arrayFromVolume(voxel)[1:-1, 1:-1, 1:-1],
                                   np.sqrt(2.0**2 + 3.0**2 + 1.0**2), rtol=1e-5)
        self.delayDisplay("Gradient magnitude passed")

    def test_GradientOpacityRoundTrip(self):
        self.delayDisplay("Gradient opacity")
        volume = self._rampVolume()
        logic = GradientToolsLogic()
        display = logic.applyGradientOpacity(volume, [(0.0, 0.0), (4.0, 0.5), (8.0, 1.0)])
        self.assertEqual(logic.mrml.gradient_opacity_points(display), [(0.0, 0.0), (4.0, 0.5), (8.0, 1.0)])
        scalar = display.GetVolumePropertyNode().GetVolumeProperty().GetScalarOpacity().GetSize()
        logic.resetGradientOpacity(volume)
        self.assertTrue(all(y == 1.0 for _x, y in logic.mrml.gradient_opacity_points(display)))
        volumeProperty = display.GetVolumePropertyNode().GetVolumeProperty()
        self.assertEqual(volumeProperty.GetScalarOpacity().GetSize(), scalar)
        phantom = self._phantom()
        suggestion = logic.suggestGradientOpacity(phantom)
        self.assertGreater(suggestion.noise_sigma, 0.0)
        display = logic.applyGradientOpacity(phantom, suggestion.points)
        applied = logic.mrml.gradient_opacity_points(display)
        self.assertEqual(len(applied), len(suggestion.points))
        self.delayDisplay("Gradient opacity passed")

    def test_HistogramPlotUsesXColumns(self):
        """Bar and Line series are drawn at the row index: every series must use its X column."""
        import numpy as np
        from vtk.util import numpy_support

        self.delayDisplay("Histogram plot at its X values")
        logic = GradientToolsLogic()
        suggestion = logic.suggestGradientOpacity(self._phantom())
        chart = logic.histogramChart(suggestion)
        edges = np.asarray(suggestion.histogram_edges, dtype=float)
        roles = set()
        for i in range(chart.GetNumberOfPlotSeriesNodes()):
            series = chart.GetNthPlotSeriesNode(i)
            self.assertTrue(series.IsXColumnRequired(), series.GetName())
            table = series.GetTableNode().GetTable()
            x = numpy_support.vtk_to_numpy(table.GetColumnByName(series.GetXColumnName()))
            role = series.GetAttribute(logic.mrml.ATTRIBUTE_PREFIX + "Role")
            roles.add(role)
            if role == "counts":
                np.testing.assert_allclose(x, 0.5 * (edges[:-1] + edges[1:]))
            else:
                inside = [px for px, _y in suggestion.points if edges[0] <= px <= edges[-1]]
                np.testing.assert_allclose(np.intersect1d(x, inside), np.unique(inside))
                y = numpy_support.vtk_to_numpy(table.GetColumnByName("opacity"))
                np.testing.assert_allclose(y, suggestion.opacity_at(x), atol=1e-12)
        self.assertEqual(roles, {"counts", "opacity"})
        self.delayDisplay("Histogram plot passed")

    def test_SchemeMarkupsAndReadback(self):
        import tempfile

        import numpy as np

        self.delayDisplay("Diffusion scheme")
        logic = GradientToolsLogic()
        scheme = logic.generateScheme([(1000, 12), (2000, 20)], b0Count=2, seed=1)
        nodes = logic.showSchemeAsMarkups(scheme, showAntipodes=True)
        self.assertEqual([n.GetNumberOfControlPoints() for n in nodes], [24, 40])
        self.assertTrue(all(n.GetLocked() for n in nodes))
        back = logic.schemeFromScene()
        np.testing.assert_allclose(back.bvals, scheme.bvals)
        np.testing.assert_allclose(back.bvecs, scheme.bvecs, atol=1e-6)
        self.assertIn("1000", logic.schemeReportText(scheme))

        with tempfile.TemporaryDirectory() as folder:
            written = logic.writeScheme(scheme, os.path.join(folder, "scheme"), "mrtrix")
            self.assertEqual(len(written), 1)
            fromFiles = logic.readScheme(written)
            # Siemens files scale the directions by sqrt(b / b max) and need b max to be read back
            siemens = logic.writeScheme(scheme, os.path.join(folder, "scheme"), "siemens")
            fromSiemens = logic.readScheme(siemens, bMax=2000.0)
        np.testing.assert_allclose(fromFiles.bvals, scheme.bvals)
        np.testing.assert_allclose(fromFiles.bvecs, scheme.bvecs, atol=1e-6)
        np.testing.assert_allclose(fromSiemens.bvals[fromSiemens.bvals > 50], scheme.bvals[scheme.bvals > 50],
                                   rtol=1e-4)

        dwi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "dwi")
        slicer.util.updateVolumeFromArray(dwi, np.ones((4, 5, 6, scheme.n), np.float32))
        logic.attachSchemeToDWI(dwi, scheme)
        self.assertEqual(dwi.GetNumberOfGradients(), scheme.n)
        self.assertAlmostEqual(dwi.GetBValue(scheme.n - 1), scheme.bvals[-1])
        self.delayDisplay("Diffusion scheme passed")

    def test_WidgetLoads(self):
        self.delayDisplay("Module panel")
        widget = self._enterPanel()
        for name in ("gradientApplyButton", "opacitySuggestButton", "schemeGenerateButton",
                     "opacityPlotWidget", "opacityWarningsLabel", "schemeImportBMaxSpinBox"):
            self.assertTrue(hasattr(widget.ui, name), name)
        # combo boxes show translated labels, the parameter node stores the member names
        combo = widget.ui.gradientMethodComboBox
        self.assertEqual([combo.itemText(i) for i in range(combo.count)], [m.label() for m in GradientMethod])
        self.assertEqual(widget.parameterNode.parameterNode.GetParameter("gradientMethod"),
                         widget.parameterNode.gradientMethod.name)
        self.delayDisplay("Module panel passed")

    def _choose(self, combo, member):
        labels = [combo.itemText(i) for i in range(combo.count)]
        combo.currentIndex = labels.index(member.label())

    def _assertShown(self, widget, method, units):
        p = GradientToolsLogic().getParameterNode()
        self.assertEqual((p.gradientMethod, p.gradientUnits), (method, units))
        self.assertEqual(widget.ui.gradientMethodComboBox.currentText, method.label())
        self.assertEqual(widget.ui.gradientUnitsComboBox.currentText, units.label())

    def test_PanelBindingsSurviveEnterExitCloseAndLoad(self):
        """Slicer 5.8's connectGui returned no tag: old bindings piled up and reset the combo boxes."""
        import shutil
        import tempfile

        self.delayDisplay("Panel bindings: enter, exit, enter, scene close, scene load")
        widget = self._enterPanel()
        self._choose(widget.ui.gradientMethodComboBox, GradientMethod.SOBEL)
        self._choose(widget.ui.gradientUnitsComboBox, GradientUnits.VOXEL)
        for _round in range(2):
            slicer.util.selectModule("Data")
            # exited, the panel is unbound: nothing it shows changes the parameters
            self._choose(widget.ui.gradientMethodComboBox, GradientMethod.GAUSSIAN)
            self.assertEqual(GradientToolsLogic().getParameterNode().gradientMethod, GradientMethod.SOBEL)
            slicer.util.selectModule("GradientTools")
            self._assertShown(widget, GradientMethod.SOBEL, GradientUnits.VOXEL)

        # typing inside the opacity function keeps the cursor in place (5.8's QLineEdit connector did not)
        lineEdit = widget.ui.opacityPointsLineEdit
        lineEdit.text = "4 0 0 20 1"
        lineEdit.setCursorPosition(2)
        lineEdit.insert("5")
        self.assertEqual((lineEdit.text, lineEdit.cursorPosition), ("4 50 0 20 1", 3))

        self._choose(widget.ui.gradientMethodComboBox, GradientMethod.GAUSSIAN)
        folder = tempfile.mkdtemp()
        try:
            path = widget.logic.mrml.save_scene_with_data(slicer.mrmlScene, folder)
            slicer.mrmlScene.Clear(0)
            self._assertShown(widget, GradientMethod.CENTRAL, GradientUnits.MM)
            slicer.mrmlScene.SetURL(path)
            slicer.mrmlScene.Import()
            self._assertShown(widget, GradientMethod.GAUSSIAN, GradientUnits.VOXEL)
            slicer.util.selectModule("Data")
            slicer.util.selectModule("GradientTools")
            self._assertShown(widget, GradientMethod.GAUSSIAN, GradientUnits.VOXEL)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.delayDisplay("Panel bindings passed")

    def test_PanelPlotKeepsItsChart(self):
        """Another module selecting a chart must not replace the panel's histogram."""
        self.delayDisplay("Panel plot keeps its chart")
        widget = self._enterPanel()
        widget.parameterNode.opacityVolume = self._phantom()
        widget.sections["opacity"].onSuggest()
        ours = widget.parameterNode.opacityChart
        viewNode = widget.ui.opacityPlotWidget.mrmlPlotViewNode()
        self.assertFalse(viewNode.GetDoPropagatePlotChartSelection())
        self.assertEqual(viewNode.GetPlotChartNodeID(), ours.GetID())
        probe = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotViewNode")  # an ordinary plot view
        other = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotChartNode", "another module's chart")
        appLogic = slicer.app.applicationLogic()
        appLogic.GetSelectionNode().SetActivePlotChartID(other.GetID())
        appLogic.PropagatePlotChartSelection()
        self.assertEqual(probe.GetPlotChartNodeID(), other.GetID())
        self.assertEqual(viewNode.GetPlotChartNodeID(), ours.GetID())
        self.delayDisplay("Panel plot passed")

    def test_OpacityWarningsShown(self):
        import types

        self.delayDisplay("Suggestion warnings beside the noise estimate")
        section = self._enterPanel().sections["opacity"]
        label = section.ui.opacityWarningsLabel
        section.showSuggestion(types.SimpleNamespace(noise_sigma=2.5, warnings=["few homogeneous blocks"]))
        self.assertEqual((label.text, label.isHidden()), ("few homogeneous blocks", False))
        section.showSuggestion(types.SimpleNamespace(noise_sigma=2.5))  # a suggestion without warnings
        self.assertEqual((label.text, label.isHidden()), ("", True))
        self.delayDisplay("Suggestion warnings passed")

    def test_ProgressIsModalAndCancellable(self):
        self.delayDisplay("Progress: modal, one run at a time, cancellable, released")
        widget = self._enterPanel()
        section = widget.sections["gradient"]
        widget.parameterNode.gradientInputVolume = self._rampVolume()
        created = []
        createProgressDialog = slicer.util.createProgressDialog

        def recording(*args, **kwargs):
            created.append(createProgressDialog(*args, **kwargs))
            return created[-1]

        def cancelledAtOnce(*args, **kwargs):
            recording(*args, **kwargs).cancel()  # as if Cancel were pressed before the first report
            return created[-1]

        seen = {}

        def work(progress):
            seen["modality"] = created[-1].windowModality
            seen["applyEnabled"] = widget.ui.gradientApplyButton.enabled
            section.onApply()  # a second click while busy starts nothing
            seen["dialogs"] = len(created)
            progress(0.5, "half way")
            return "finished"

        slicer.util.createProgressDialog = recording
        try:
            self.assertEqual(widget.runLongWork("Test", "Test failed", work), "finished")
            self.assertEqual(seen, {"modality": qt.Qt.WindowModal, "applyEnabled": False, "dialogs": 1})
            slicer.util.createProgressDialog = cancelledAtOnce
            volumes = slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
            section.onApply()
        finally:
            slicer.util.createProgressDialog = createProgressDialog
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"), volumes)
        self.assertIsNone(widget.parameterNode.gradientOutputVolume)
        self.assertTrue(widget.ui.gradientApplyButton.enabled)
        for dialog in created:
            self.assertTrue(dialog.isHidden())
            self.assertIsNone(dialog.parent())
        self.delayDisplay("Progress passed")

    def _flippedPhantomDwi(self, name="flipped DWI"):
        """A DWI volume of GradientToolsLib's phantom brain (curved and crossing bundles, noise) whose
        gradient table has its J axis flipped, and the true gradients as the node stores them
        (identity measurement frame, IJK-to-RAS directions diag(-1, -1, 1): RAS = (-i, -j, k))."""
        import numpy as np

        from GradientToolsLib import dwi_phantom

        scheme = GradientToolsLogic().generateScheme([(1000, 30)], b0Count=3, seed=1)
        phantom = dwi_phantom(scheme.bvals, scheme.bvecs, shape=(12, 22, 22), spacing=(2.5, 2.5, 3.0),
                              snr=20.0, seed=9)
        node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", name)
        slicer.util.updateVolumeFromArray(node, phantom.dwi)
        node.SetSpacing(*phantom.spacing)
        node.SetIJKToRASDirections(-1, 0, 0, 0, -1, 0, 0, 0, 1)
        node.SetMeasurementFrameMatrix(vtk.vtkMatrix4x4())
        toRAS = np.array([-1.0, -1.0, 1.0])
        truth = scheme.bvecs * toRAS
        flipped = scheme.bvecs * np.array([1.0, -1.0, 1.0]) * toRAS
        node.SetNumberOfGradients(scheme.n)
        for i, (g, b) in enumerate(zip(flipped, scheme.bvals)):
            node.SetDiffusionGradient(i, [float(x) for x in g])
            node.SetBValue(i, float(b))
        return node, truth

    def test_GradientTableCheckAndCorrection(self):
        """The panel's check finds a flipped axis and Apply restores the true table, once; Cancel,
        another volume and a scene close leave no result (and the node untouched)."""
        import numpy as np

        self.delayDisplay("Gradient table check and correction")
        widget = self._enterPanel()
        section = widget.sections["check"]
        node, truth = self._flippedPhantomDwi()

        def stored():
            return np.array([node.GetDiffusionGradient(i) for i in range(node.GetNumberOfGradients())])

        flipped = stored()
        widget.parameterNode.checkDwiVolume = node
        createProgressDialog = slicer.util.createProgressDialog

        def cancelledAtOnce(*args, **kwargs):
            dialog = createProgressDialog(*args, **kwargs)
            dialog.cancel()  # as if Cancel were pressed before the first report
            return dialog

        slicer.util.createProgressDialog = cancelledAtOnce
        try:
            section.onCheck()
        finally:
            slicer.util.createProgressDialog = createProgressDialog
        self.assertIsNone(section.result)
        np.testing.assert_array_equal(stored(), flipped)

        section.onCheck()
        result = section.result
        self.assertFalse(result.given_is_best)
        self.assertEqual(result.best, ((0, 1, 2), (1, -1, 1)))
        self.assertGreaterEqual(widget.ui.checkRankingTable.rowCount, 5)
        self.assertTrue(widget.ui.checkApplyButton.enabled)
        section.onApply()
        np.testing.assert_allclose(stored(), truth, atol=1e-6)
        self.assertFalse(widget.ui.checkApplyButton.enabled)
        with self.assertRaises(ValueError):  # the same correction again: refused by the library
            widget.logic.applyGradientCorrection(node, result)
        np.testing.assert_allclose(stored(), truth, atol=1e-6)

        other, _ = self._flippedPhantomDwi("another DWI")
        widget.parameterNode.checkDwiVolume = other
        self.assertIsNone(section.result)
        self.assertFalse(widget.ui.checkApplyButton.enabled)
        section.onCheck()
        self.assertIsNotNone(section.result)
        slicer.mrmlScene.Clear(0)
        self.assertIsNone(section.result)
        self.assertEqual(widget.ui.checkRankingTable.rowCount, 0)
        self.delayDisplay("Gradient table check passed")
