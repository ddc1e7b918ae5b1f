"""The "Diffusion scheme" section: shells table, generation, preview, report, import and export."""

import qt
import slicer
from slicer.i18n import tr as _

from .PanelSection import PanelSection


class DiffusionSchemeSection(PanelSection):
    def __init__(self, widget) -> None:
        self._updatingShellsTable = False
        super().__init__(widget)

    def connectSignals(self) -> None:
        self.connectButtons(schemeAddShellButton=self.onAddShell, schemeRemoveShellButton=self.onRemoveShell,
                            schemeGenerateButton=self.onGenerate, schemeImportButton=self.onImport,
                            schemeExportButton=self.onExport)
        self.ui.schemeShellsTable.connect("cellChanged(int,int)", self.onShellsTableEdited)

    def updateGui(self, p, busy) -> None:
        self.ui.schemeGenerateButton.enabled = not busy
        self.showShells(p.schemeShells)
        report = self.ui.schemeReportTextEdit
        if report.toPlainText() != p.schemeReport:  # rewriting would scroll it back to the top
            report.setPlainText(p.schemeReport)

    def showShells(self, text) -> None:
        """Fill the table with the shells of ``text`` (the parameter's value; none if it is invalid,
        which only the console can make)."""
        table = self.ui.schemeShellsTable
        try:
            shells = self.logic.parseShells(text)
        except ValueError:
            shells = []
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
            rows.append(tuple(c.text().strip() if c is not None else "" for c in cells))
        return ", ".join(f"{b}:{n}" for b, n in rows if b or n)

    def onShellsTableEdited(self, row, column) -> None:
        if self._updatingShellsTable:
            return
        p = self.parameterNode
        with slicer.util.tryWithErrorDisplay(_("Invalid shell; the table shows the shells in use again.")):
            try:
                p.schemeShells = self.logic.formatShells(self.logic.parseShells(self._shellsFromTable()))
            finally:
                # valid or not, the table shows the parameter's value: a bad cell is reverted
                self.showShells(p.schemeShells)

    def onAddShell(self) -> None:
        shells = self.logic.parseShells(self.parameterNode.schemeShells)
        nextB = (shells[-1][0] + 1000) if shells else 1000
        shells.append((nextB, 30))
        self.parameterNode.schemeShells = self.logic.formatShells(shells)

    def onRemoveShell(self) -> None:
        shells = self.logic.parseShells(self.parameterNode.schemeShells)
        row = self.ui.schemeShellsTable.currentRow()
        if not shells:
            return
        del shells[row if 0 <= row < len(shells) else -1]
        self.parameterNode.schemeShells = self.logic.formatShells(shells)

    def onGenerate(self) -> None:
        p = self.parameterNode
        scheme = self.widget.runLongWork(
            _("Optimising gradient directions"), _("Failed to generate the scheme."),
            lambda progress: self.logic.generateScheme(
                self.logic.parseShells(p.schemeShells), b0Count=p.schemeB0Count,
                b0Placement=p.schemeB0Placement.value, ordering=p.schemeOrdering.value,
                optimizePolarity=p.schemeOptimizePolarity, seed=p.schemeSeed, progress=progress))
        if scheme is not None:
            with slicer.util.tryWithErrorDisplay(_("Failed to show the scheme."), waitCursor=True):
                self.showScheme(scheme)

    def showScheme(self, scheme) -> None:
        p = self.parameterNode
        self.logic.showSchemeAsMarkups(scheme, radius=p.schemeRadius.value,
                                       showAntipodes=p.schemeShowAntipodes)
        p.schemeReport = self.logic.schemeReportText(scheme)

    def onImport(self) -> None:
        p = self.parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to import the scheme."), waitCursor=True):
            paths = qt.QFileDialog.getOpenFileNames(
                slicer.util.mainWindow(), _("Import gradient scheme (pick .bval and .bvec together)"), "",
                _("Gradient tables (*.bval *.bvec *.b *.dvs *.dat *.txt *.nhdr *.nrrd);;All files (*)"))
            if paths:
                self.showScheme(self.logic.readScheme(list(paths), bMax=p.schemeImportBMax or None))

    def onExport(self) -> None:
        p = self.parameterNode
        with slicer.util.tryWithErrorDisplay(_("Failed to export the scheme."), waitCursor=True):
            scheme = self.logic.schemeFromScene()
            if scheme is None:
                raise ValueError(_("The scene holds no scheme preview to export: generate or import a scheme "
                                   "first."))
            prefix = qt.QFileDialog.getSaveFileName(
                slicer.util.mainWindow(), _("Export gradient scheme (file name prefix)"), "scheme")
            if prefix:
                written = self.logic.writeScheme(scheme, prefix, p.schemeExportFormat.value)
                slicer.util.showStatusMessage(_("Wrote {files}").format(files=", ".join(written)), 5000)
