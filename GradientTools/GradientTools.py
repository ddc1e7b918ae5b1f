"""GradientTools: gradient-magnitude volumes, gradient-opacity transfer functions and diffusion
gradient schemes in 3D Slicer.

This file is a thin shell: every computation lives in the GradientToolsLib package (numpy, scipy,
vtk) and its MRML bridge GradientToolsLib.mrml, which are tested outside Slicer on slicer-core.
The logic class is usable from the Python console::

    logic = slicer.util.getModuleLogic("GradientTools")
    gradientNode = logic.computeGradientMagnitude(getNode("CTChest"), units="voxel")
"""

import contextlib
import os
import sys
from typing import Annotated, Optional

import qt
import slicer
import vtk
from slicer import vtkMRMLPlotChartNode, vtkMRMLScalarVolumeNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin


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
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Volume Rendering")]
        self.parent.dependencies = []
        self.parent.contributors = ["GradientTools developers"]
        self.parent.helpText = _("""
Gradient-magnitude volumes in physical or renderer units, automatic gradient-opacity transfer
functions for volume rendering (suppressing noise in homogeneous tissue), and electrostatic
diffusion gradient schemes (multi-shell, b0s, ordering, polarity) with a 3D preview, a quality
report and export to FSL, MRtrix and scanner formats.
See <a href="https://github.com/gradienttools/SlicerGradientTools">the project page</a>.
""")
        self.parent.acknowledgementText = _("""
Developed as the GradientTools project; the computations live in the GradientToolsLib Python package,
which also provides the <code>gradienttools</code> command line.
""")


#
# GradientToolsParameterNode
#


@parameterNodeWrapper
class GradientToolsParameterNode:
    """The panel's state, saved with the scene.

    gradient*: the gradient-magnitude section; opacity*: the gradient-opacity section;
    scheme*: the diffusion-scheme section (schemeShells is "b:count, b:count", edited in the table).
    """

    gradientInputVolume: vtkMRMLScalarVolumeNode
    gradientOutputVolume: vtkMRMLScalarVolumeNode
    gradientMethod: Annotated[str, Choice(["central", "sobel", "gaussian"])] = "central"
    gradientSigma: Annotated[float, WithinRange(0.0, 100.0)] = 1.0
    gradientUnits: Annotated[str, Choice(["mm", "voxel"])] = "mm"

    opacityVolume: vtkMRMLScalarVolumeNode
    opacitySuppression: Annotated[float, WithinRange(0.25, 5.0)] = 1.0
    opacityVisibleOnly: bool = True
    opacityPoints: str = ""
    opacityChart: vtkMRMLPlotChartNode

    schemeShells: str = "1000:30, 2000:60"
    schemeB0Count: Annotated[int, WithinRange(0, 100)] = 6
    schemeB0Placement: Annotated[str, Choice(["interleaved", "start"])] = "interleaved"
    schemeOrdering: Annotated[str, Choice(["robust", "none"])] = "robust"
    schemeOptimizePolarity: bool = True
    schemeSeed: Annotated[int, WithinRange(0, 2**31 - 1)] = 0
    schemeRadius: Annotated[str, Choice(["b-value", "unit"])] = "b-value"
    schemeShowAntipodes: bool = False
    schemeExportFormat: Annotated[str, Choice(["fsl", "mrtrix", "siemens", "ge", "philips", "nrrd"])] = "fsl"
    schemeReport: str = ""


#
# GradientToolsWidget
#


class GradientToolsWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._updatingShellsTable = False
        self._lastSuggestion = None
        self._lastScheme = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/GradientTools.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = GradientToolsLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.gradientApplyButton.connect("clicked(bool)", self.onGradientApply)
        self.ui.opacitySuggestButton.connect("clicked(bool)", self.onOpacitySuggest)
        self.ui.opacityApplyButton.connect("clicked(bool)", self.onOpacityApply)
        self.ui.opacityResetButton.connect("clicked(bool)", self.onOpacityReset)
        self.ui.schemeAddShellButton.connect("clicked(bool)", self.onAddShell)
        self.ui.schemeRemoveShellButton.connect("clicked(bool)", self.onRemoveShell)
        self.ui.schemeShellsTable.connect("cellChanged(int,int)", self.onShellsTableEdited)
        self.ui.schemeGenerateButton.connect("clicked(bool)", self.onSchemeGenerate)
        self.ui.schemeImportButton.connect("clicked(bool)", self.onSchemeImport)
        self.ui.schemeExportButton.connect("clicked(bool)", self.onSchemeExport)

        self.ui.opacityPlotWidget.setMRMLScene(slicer.mrmlScene)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        firstVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
        if firstVolume:
            if not self._parameterNode.gradientInputVolume:
                self._parameterNode.gradientInputVolume = firstVolume
            if not self._parameterNode.opacityVolume:
                self._parameterNode.opacityVolume = firstVolume

    def setParameterNode(self, inputParameterNode: Optional[GradientToolsParameterNode]) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
            self._updateGui()

    def _updateGui(self, caller=None, event=None) -> None:
        """Enable buttons and refresh the widgets that cannot be bound (shells table, plot)."""
        p = self._parameterNode
        if p is None:
            return
        self.ui.gradientApplyButton.enabled = bool(p.gradientInputVolume)
        self.ui.gradientSigmaSpinBox.enabled = p.gradientMethod == "gaussian"
        self.ui.opacitySuggestButton.enabled = bool(p.opacityVolume)
        self.ui.opacityApplyButton.enabled = bool(p.opacityVolume) and bool(p.opacityPoints.strip())
        self.ui.opacityResetButton.enabled = bool(p.opacityVolume)
        self._showShells(p.schemeShells)
        if p.opacityChart:
            self.logic.showChart(self.ui.opacityPlotWidget, p.opacityChart)

    # -- progress --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _progressDialog(self, title):
        """A progress dialog for the block; yields the library's progress callback."""
        dialog = slicer.util.createProgressDialog(windowTitle=title, labelText=title, maximum=100)

        def progress(fraction, message=""):
            dialog.value = int(round(100 * fraction))
            if message:
                dialog.labelText = message
            slicer.app.processEvents()

        try:
            yield progress
        finally:
            dialog.close()

    # -- gradient magnitude ------------------------------------------------------------------------

    def onGradientApply(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to compute the gradient magnitude."), waitCursor=True):
            with self._progressDialog(_("Computing gradient magnitude")) as progress:
                output = self.logic.computeGradientMagnitude(
                    p.gradientInputVolume, p.gradientOutputVolume, method=p.gradientMethod,
                    sigma=p.gradientSigma if p.gradientMethod == "gaussian" else None,
                    units=p.gradientUnits, progress=progress)
            p.gradientOutputVolume = output
            slicer.util.setSliceViewerLayers(background=output, fit=True)

    # -- gradient opacity ----------------------------------------------------------------------------

    def onOpacitySuggest(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to suggest a gradient opacity."), waitCursor=True):
            with self._progressDialog(_("Analysing gradients")) as progress:
                suggestion = self.logic.suggestGradientOpacity(
                    p.opacityVolume, visibleOnly=p.opacityVisibleOnly, suppression=p.opacitySuppression,
                    progress=progress)
            self._lastSuggestion = suggestion
            self.ui.opacityNoiseLabel.text = _("{sigma:.4g} (scalar units)").format(
                sigma=float(suggestion.noise_sigma))
            p.opacityChart = self.logic.histogramChart(suggestion, p.opacityChart)
            p.opacityPoints = self.logic.pointsToString(suggestion.points)

    def onOpacityApply(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to apply the gradient opacity."), waitCursor=True):
            self.logic.applyGradientOpacity(p.opacityVolume, p.opacityPoints)

    def onOpacityReset(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to reset the gradient opacity."), waitCursor=True):
            self.logic.resetGradientOpacity(p.opacityVolume)

    # -- diffusion scheme ------------------------------------------------------------------------------

    def _showShells(self, text) -> None:
        table = self.ui.schemeShellsTable
        try:
            shells = self.logic.parseShells(text)
        except ValueError:
            return
        self._updatingShellsTable = True
        try:
            table.setRowCount(len(shells))
            for row, (bValue, count) in enumerate(shells):
                for column, value in enumerate((bValue, count)):
                    item = table.item(row, column)
                    if item is None:
                        item = qt.QTableWidgetItem()
                        table.setItem(row, column, item)
                    item.setText(f"{value:g}")
        finally:
            self._updatingShellsTable = False

    def _shellsFromTable(self):
        table = self.ui.schemeShellsTable
        rows = []
        for row in range(table.rowCount):
            cells = [table.item(row, column) for column in range(2)]
            rows.append(tuple(c.text() if c is not None else "" for c in cells))
        return ", ".join(f"{b}:{n}" for b, n in rows if b.strip() or n.strip())

    def onShellsTableEdited(self, row, column) -> None:
        if self._updatingShellsTable:
            return
        with slicer.util.tryWithErrorDisplay(_("Invalid shell."), waitCursor=False):
            text = self._shellsFromTable()
            self.logic.parseShells(text)
            self._parameterNode.schemeShells = text

    def onAddShell(self) -> None:
        shells = self.logic.parseShells(self._parameterNode.schemeShells)
        nextB = (shells[-1][0] + 1000) if shells else 1000
        shells.append((nextB, 30))
        self._parameterNode.schemeShells = self.logic.formatShells(shells)

    def onRemoveShell(self) -> None:
        shells = self.logic.parseShells(self._parameterNode.schemeShells)
        row = self.ui.schemeShellsTable.currentRow()
        if not shells:
            return
        del shells[row if 0 <= row < len(shells) else -1]
        self._parameterNode.schemeShells = self.logic.formatShells(shells)

    def onSchemeGenerate(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to generate the scheme."), waitCursor=True):
            with self._progressDialog(_("Optimising gradient directions")) as progress:
                scheme = self.logic.generateScheme(
                    self.logic.parseShells(p.schemeShells), b0Count=p.schemeB0Count,
                    b0Placement=p.schemeB0Placement, ordering=p.schemeOrdering,
                    optimizePolarity=p.schemeOptimizePolarity, seed=p.schemeSeed, progress=progress)
            self._showScheme(scheme)

    def _showScheme(self, scheme) -> None:
        p = self._parameterNode
        self._lastScheme = scheme
        self.logic.showSchemeAsMarkups(scheme, radius=p.schemeRadius, showAntipodes=p.schemeShowAntipodes)
        p.schemeReport = self.logic.schemeReportText(scheme)

    def onSchemeImport(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to import the scheme."), waitCursor=True):
            paths = qt.QFileDialog.getOpenFileNames(
                slicer.util.mainWindow(), _("Import gradient scheme (pick .bval and .bvec together)"), "",
                _("Gradient tables (*.bval *.bvec *.b *.dvs *.txt *.nhdr *.nrrd);;All files (*)"))
            if paths:
                self._showScheme(self.logic.readScheme(list(paths)))

    def onSchemeExport(self) -> None:
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to export the scheme."), waitCursor=True):
            if self._lastScheme is None:
                raise ValueError(_("Generate or import a scheme first."))
            prefix = qt.QFileDialog.getSaveFileName(
                slicer.util.mainWindow(), _("Export gradient scheme (file name prefix)"), "scheme")
            if prefix:
                written = self.logic.writeScheme(self._lastScheme, prefix, p.schemeExportFormat)
                slicer.util.showStatusMessage(_("Wrote {files}").format(files=", ".join(written)), 5000)


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
        """Show a chart in a qMRMLPlotWidget through this module's own plot view node."""
        viewNode = slicer.mrmlScene.GetSingletonNode("GradientToolsPlot", "vtkMRMLPlotViewNode")
        if viewNode is None:
            viewNode = slicer.vtkMRMLPlotViewNode()
            viewNode.SetSingletonTag("GradientToolsPlot")
            viewNode.SetName("GradientTools plot view")
            viewNode = slicer.mrmlScene.AddNode(viewNode)
        viewNode.SetPlotChartNodeID(chartNode.GetID())
        plotWidget.setMRMLPlotViewNode(viewNode)

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

    def showSchemeAsMarkups(self, scheme, radius="b-value", showAntipodes=False, replace=True):
        """One locked point list per shell, centred on the scene's origin; replaces the last preview."""
        if replace:
            for node in slicer.util.getNodesByClass("vtkMRMLMarkupsFiducialNode"):
                if node.GetAttribute(self.mrml.ATTRIBUTE_PREFIX + "BValues") is not None:
                    slicer.mrmlScene.RemoveNode(node)
        return self.mrml.scheme_to_markups(slicer.mrmlScene, scheme, radius=radius,
                                           show_antipodes=showAntipodes)

    def readScheme(self, paths):
        return self.lib.read_scheme(paths)

    def writeScheme(self, scheme, prefix, fileFormat="fsl"):
        return self.lib.write_scheme(scheme, prefix, fileFormat)

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


#
# GradientToolsTest
#


class GradientToolsTest(ScriptedLoadableModuleTest):
    """In-Slicer tests: volumes and schemes are made in code, nothing is downloaded."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_GradientMagnitudeGeometryAndValues()
        self.setUp()
        self.test_GradientOpacityRoundTrip()
        self.setUp()
        self.test_SchemeMarkupsAndReadback()
        self.setUp()
        self.test_WidgetLoads()

    def _rampVolume(self):
        import numpy as np

        k, j, i = np.meshgrid(np.arange(10), np.arange(12), np.arange(14), indexing="ij")
        volume = slicer.util.addVolumeFromArray((2.0 * i + 3.0 * j - 1.0 * k).astype(np.int16), name="ramp")
        volume.SetSpacing(0.5, 1.5, 2.0)
        volume.SetIJKToRASDirections(0, -1, 0, 1, 0, 0, 0, 0, 1)
        return volume

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
        from GradientToolsLib import ct_phantom

        image, _labels = ct_phantom(shape=(24, 40, 40), noise_std=20.0, seed=1)
        phantom = slicer.util.addVolumeFromArray(image, name="phantom")
        suggestion = logic.suggestGradientOpacity(phantom)
        self.assertGreater(suggestion.noise_sigma, 0.0)
        display = logic.applyGradientOpacity(phantom, suggestion.points)
        applied = logic.mrml.gradient_opacity_points(display)
        self.assertEqual(len(applied), len(suggestion.points))
        chart = logic.histogramChart(suggestion)
        self.assertEqual(chart.GetNumberOfPlotSeriesNodes(), 2)
        self.delayDisplay("Gradient opacity passed")

    def test_SchemeMarkupsAndReadback(self):
        import numpy as np

        self.delayDisplay("Diffusion scheme")
        logic = GradientToolsLogic()
        scheme = logic.generateScheme([(1000, 12), (2000, 20)], b0Count=2, seed=1)
        nodes = logic.showSchemeAsMarkups(scheme, showAntipodes=True)
        self.assertEqual([n.GetNumberOfControlPoints() for n in nodes], [24, 40])
        self.assertTrue(all(n.GetLocked() for n in nodes))
        back = logic.mrml.markups_to_scheme(nodes)
        np.testing.assert_allclose(back.bvals, scheme.bvals)
        np.testing.assert_allclose(back.bvecs, scheme.bvecs, atol=1e-6)
        self.assertIn("1000", logic.schemeReportText(scheme))

        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            written = logic.writeScheme(scheme, os.path.join(folder, "scheme"), "fsl")
            self.assertEqual(len(written), 2)
            fromFiles = logic.readScheme(written)
        np.testing.assert_allclose(fromFiles.bvals, scheme.bvals)
        np.testing.assert_allclose(fromFiles.bvecs, scheme.bvecs, atol=1e-6)

        dwi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "dwi")
        slicer.util.updateVolumeFromArray(dwi, np.ones((4, 5, 6, scheme.n), np.float32))
        logic.attachSchemeToDWI(dwi, scheme)
        self.assertEqual(dwi.GetNumberOfGradients(), scheme.n)
        self.assertAlmostEqual(dwi.GetBValue(scheme.n - 1), scheme.bvals[-1])
        self.delayDisplay("Diffusion scheme passed")

    def test_WidgetLoads(self):
        self.delayDisplay("Module panel")
        slicer.util.selectModule("GradientTools")
        widget = slicer.modules.GradientToolsWidget
        for name in ("gradientApplyButton", "opacitySuggestButton", "schemeGenerateButton",
                     "opacityPlotWidget"):
            self.assertTrue(hasattr(widget.ui, name), name)
        self.delayDisplay("Module panel passed")
