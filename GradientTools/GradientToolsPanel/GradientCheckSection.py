"""The "Gradient table check" section: is a DWI's gradient table right, and if not, correct it.

Check runs the logic's checkGradientTable under the modal, cancellable progress dialog and keeps
the result with the node it belongs to; the verdict, warnings and best tables are shown. Apply
writes the result's correction into that node (the library refuses when the node's gradients are
no longer the ones checked, e.g. a second Apply). Selecting another DWI volume, or a scene close,
forgets the result.
"""

import qt
import slicer
from slicer.i18n import tr as _

from .PanelSection import PanelSection

#: rows of the ranking table; the table as given is added below them when it ranks lower
RANKING_ROWS = 5


class GradientCheckSection(PanelSection):
    def __init__(self, widget) -> None:
        self._result = None  # the last check (GradientToolsLib's GradientCheck) of self._checkedNode
        self._checkedNode = None
        self._applied = None  # the correction applied from this result (its description)
        super().__init__(widget)
        self.showResult(None)

    @property
    def result(self):
        """The shown check (GradientCheck) or None."""
        return self._result

    @property
    def checkedNode(self):
        """The DWI volume the shown check belongs to, or None."""
        return self._checkedNode

    def connectSignals(self) -> None:
        self.connectButtons(checkButton=self.onCheck, checkApplyButton=self.onApply)

    def updateGui(self, p, busy) -> None:
        if self._result is not None and p.checkDwiVolume is not self._checkedNode:
            self.showResult(None)  # another volume is selected: the result is not its
        self._updateButtons(p, busy)

    def _updateButtons(self, p, busy) -> None:
        self.ui.checkButton.enabled = bool(p and p.checkDwiVolume) and not busy
        self.ui.checkApplyButton.enabled = bool(
            p and self._result is not None and not self._result.given_is_best and self._applied is None
            and p.checkDwiVolume is self._checkedNode and not busy)

    def sceneClosed(self) -> None:
        self.showResult(None)

    def onCheck(self) -> None:
        p = self.parameterNode
        dwiNode, maskNode = p.checkDwiVolume, p.checkMaskVolume
        result = self.widget.runLongWork(
            _("Checking the gradient table"), _("Failed to check the gradient table."),
            lambda progress: self.logic.checkGradientTable(dwiNode, maskNode, progress=progress))
        if result is not None:
            self.showResult(result, dwiNode)

    def onApply(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to apply the gradient correction."), waitCursor=True):
            if self._result is None:
                raise ValueError(_("Check the gradient table first."))
            self.logic.applyGradientCorrection(self._checkedNode, self._result)
            self._applied = self.logic.describeCandidate(self._result.best)
            self.ui.checkVerdictLabel.text = "\n".join((
                self._verdict(self._result), _("Applied: {table}.").format(table=self._applied)))
            slicer.util.showStatusMessage(_("Applied {table} to the gradients of {name}").format(
                table=self._applied, name=self._checkedNode.GetName()), 5000)
            self._updateButtons(self.parameterNode, self.widget.busy)

    # -- showing a result ---------------------------------------------------------------------------

    def showResult(self, result, dwiNode=None) -> None:
        """Show a check of ``dwiNode`` (None: forget the shown one)."""
        self._result, self._applied = result, None
        self._checkedNode = dwiNode if result is not None else None
        warnings = [] if result is None else [str(w) for w in result.warnings]
        self.ui.checkVerdictLabel.text = "-" if result is None else self._verdict(result)
        self.ui.checkWarningsLabel.text = "\n".join(warnings)
        self.ui.checkWarningsLabel.visible = bool(warnings)
        self._showRanking(result)
        self._updateButtons(self.parameterNode, self.widget.busy)

    def _verdict(self, result) -> str:
        if result.best_score <= 0.0:
            return _("No verdict: no streamline could be tracked.")
        if result.given_is_best:
            return _("The table as given is the most coherent (lead over the runner-up {lead:.1f}%).").format(
                lead=100.0 * result.margin)
        best = self.logic.describeCandidate(result.best)
        if result.given_score <= 0.0:
            return _("The table looks wrong: {best} (voxel axes) gives streamlines, the table as "
                     "given none.").format(best=best)
        gain = 100.0 * (result.best_score / result.given_score - 1.0)
        return _("The table looks wrong: {best} (voxel axes) gives {gain:.0f}% longer streamlines than the "
                 "table as given.").format(best=best, gain=gain)

    def _showRanking(self, result) -> None:
        """Rank, table, mean streamline length (mm) and relative difference from the best."""
        table = self.ui.checkRankingTable
        rows = [] if result is None else self._rankingRows(result)
        table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                table.setItem(row, column, qt.QTableWidgetItem(text))

    def _rankingRows(self, result):
        ranked = list(enumerate(result.ranking, start=1))
        given = next(entry for entry in ranked if self._isGiven(entry[1]))
        shown = ranked[:RANKING_ROWS] + ([given] if given[0] > RANKING_ROWS else [])
        best = result.best_score
        rows = []
        for rank, (permutation, signs, score) in shown:
            name = self.logic.describeCandidate((permutation, signs))
            if self._isGiven((permutation, signs, score)):
                name = _("{table} (as given)").format(table=name)
            behind = 100.0 * (score / best - 1.0) if best > 0 else 0.0
            rows.append((str(rank), name, f"{score:.2f}", f"{behind:+.1f}%"))
        return rows

    @staticmethod
    def _isGiven(entry) -> bool:
        permutation, signs, _score = entry
        return tuple(permutation) == (0, 1, 2) and tuple(signs) == (1, 1, 1)
