"""Stand-ins for the Qt, CTK and Slicer widgets the GradientTools panel uses, for tests on slicer-core.

Slicer's Qt application cannot run here, so the widgets are small Python classes that keep the
behaviour the panel and the parameter-node connectors depend on, as Qt and CTK document it:

* signals fire only on a change (``QComboBox.currentIndexChanged``, ``QSpinBox.valueChanged``...),
  and programmatic changes fire them too (``QTableWidget.cellChanged`` on ``item.setText``);
* ``QComboBox.clear()`` makes the current index -1 and the first ``addItem`` makes it 0, each
  emitting ``currentIndexChanged``; an index out of range becomes -1;
* ``QLineEdit.setText`` moves the cursor to the end and clears ``modified`` even when the text is
  unchanged; typing (``insert``) sets ``modified`` and leaves the cursor after what was typed;
* ``QDoubleSpinBox``/``ctkSliderWidget`` round their minimum, maximum and value to ``decimals``
  (Qt: ``QString::number(v, 'f', decimals)``; ties may round either way there, here half-to-even);
* ``QProgressDialog``: ``cancel()`` hides it and sets ``wasCanceled`` until ``reset()``; its
  ``windowModality`` counts from the moment it is shown.

``load_ui`` builds the widget tree from the real GradientTools.ui (classes, object names, designer
properties, dynamic ``SlicerParameterName`` properties and signal/slot connections), so the panel
code runs against its real form. Signals take slots with fewer parameters, as PythonQt does.
"""

from __future__ import annotations

import inspect
import types
import xml.etree.ElementTree as ET


def _arity(slot):
    try:
        parameters = inspect.signature(slot).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class Signal:
    """A Qt signal: connect/disconnect/emit; a slot gets as many arguments as it takes."""

    def __init__(self):
        self._slots = []

    def connect(self, slot):
        self._slots.append(slot)

    def disconnect(self, slot):
        self._slots.remove(slot)  # raises ValueError when not connected, as PythonQt does

    def emit(self, *args):
        for slot in list(self._slots):
            count = _arity(slot)
            slot(*(args if count is None else args[:count]))


class QObject:
    def __init__(self, parent=None):
        self._parent = None
        self._children = []
        self._properties = {}
        self.objectName = ""
        if parent is not None:
            self.setParent(parent)

    def setParent(self, parent):
        if self._parent is not None:
            self._parent._children.remove(self)
        self._parent = parent
        if parent is not None:
            parent._children.append(self)

    def parent(self):
        return self._parent

    def findChildren(self, cls):
        found = []
        for child in self._children:
            if isinstance(child, cls):
                found.append(child)
            found.extend(child.findChildren(cls))
        return found

    def _signals(self, *names):
        for name in names:
            setattr(self, name, Signal())

    def property(self, name):
        return self._properties.get(name)

    def setProperty(self, name, value):
        self._properties[name] = value

    def _signal(self, signature):
        return getattr(self, signature.split("(")[0])

    def connect(self, signature, slot):
        self._signal(signature).connect(slot)

    def disconnect(self, signature, slot):
        self._signal(signature).disconnect(slot)


class QWidget(QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.enabled = True
        self.toolTip = ""
        self._hidden = False

    def isWidgetType(self):
        return True

    @property
    def visible(self):
        return not self._hidden

    @visible.setter
    def visible(self, value):
        self._hidden = not value

    def isHidden(self):
        return self._hidden

    def show(self):
        self._hidden = False

    def hide(self):
        self._hidden = True

    def close(self):
        self.hide()
        return True


class QLabel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.wordWrap = False
        self.styleSheet = ""


class QPushButton(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.checkable, self.checked = "", False, False
        self._signals("clicked", "toggled")

    def click(self):
        if self.enabled:
            self.clicked.emit(False)


class QCheckBox(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self._checked = "", False
        self._signals("toggled", "stateChanged")

    @property
    def checked(self):
        return self._checked

    @checked.setter
    def checked(self, value):
        value = bool(value)
        if value != self._checked:
            self._checked = value
            self.stateChanged.emit(2 if value else 0)
            self.toggled.emit(value)


class _Range(QWidget):
    """Value clamped to [minimum, maximum]; valueChanged on change."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._minimum, self._maximum, self._value, self.singleStep = 0, 99, 0, 1
        self._signals("valueChanged")

    def _rounded(self, value):
        return value

    @property
    def minimum(self):
        return self._minimum

    @minimum.setter
    def minimum(self, value):
        self.setRange(value, max(value, self._maximum))

    @property
    def maximum(self):
        return self._maximum

    @maximum.setter
    def maximum(self, value):
        self.setRange(min(value, self._minimum), value)

    def setMinimum(self, value):
        self.minimum = value

    def setMaximum(self, value):
        self.maximum = value

    def setRange(self, minimum, maximum):
        self._minimum, self._maximum = self._rounded(minimum), self._rounded(maximum)
        self.value = self._value  # re-clamped

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        value = min(max(self._rounded(value), self._minimum), self._maximum)
        if value != self._value:
            self._value = value
            self.valueChanged.emit(value)

    def setValue(self, value):
        self.value = value


class QSpinBox(_Range):
    def _rounded(self, value):
        return int(value)


class QDoubleSpinBox(_Range):
    """Rounds the range and the value to ``decimals`` (default 2), as QDoubleSpinBox and CTK do."""

    def __init__(self, parent=None):
        self._decimals = 2
        super().__init__(parent)
        self._value = 0.0
        self.specialValueText = ""
        self.suffix = ""

    def _rounded(self, value):
        return float(f"{float(value):.{self._decimals}f}")

    @property
    def decimals(self):
        return self._decimals

    @decimals.setter
    def decimals(self, value):
        self._decimals = int(value)
        self.setRange(self._minimum, self._maximum)


class ctkSliderWidget(QDoubleSpinBox):  # noqa: N801 - the class name Qt Designer writes
    pass


class QComboBox(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._items, self._current = [], -1  # items: (text, data)
        self._signals("currentIndexChanged")

    @property
    def count(self):
        return len(self._items)

    def clear(self):
        self._items = []
        self._set(-1)

    def addItem(self, text, userData=None):
        self._items.append((str(text), userData))
        if self._current == -1:
            self._set(0)

    def itemText(self, index):
        return self._items[index][0] if 0 <= index < len(self._items) else ""

    def itemData(self, index):
        return self._items[index][1] if 0 <= index < len(self._items) else None

    @property
    def currentText(self):
        return self.itemText(self._current)

    @property
    def currentIndex(self):
        return self._current

    @currentIndex.setter
    def currentIndex(self, index):
        self._set(index if 0 <= index < len(self._items) else -1)

    def setCurrentIndex(self, index):
        self.currentIndex = index

    def _set(self, index):
        if index != self._current:
            self._current = index
            self.currentIndexChanged.emit(index)


class QLineEdit(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._text, self.cursorPosition, self.modified = "", 0, False
        self._signals("textChanged", "textEdited", "editingFinished", "returnPressed")

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value):
        self.setText(value)

    def setText(self, value):
        value = str(value)
        changed = value != self._text
        self._text = value
        self.cursorPosition = len(value)
        self.modified = False
        if changed:
            self.textChanged.emit(value)

    def setCursorPosition(self, position):
        self.cursorPosition = max(0, min(int(position), len(self._text)))

    def setModified(self, value):
        self.modified = bool(value)

    def insert(self, text):
        """Typing ``text`` at the cursor."""
        position = self.cursorPosition
        self._text = self._text[:position] + text + self._text[position:]
        self.cursorPosition = position + len(text)
        self.modified = True
        self.textEdited.emit(self._text)
        self.textChanged.emit(self._text)

    def finishEditing(self):
        """Enter pressed or focus left."""
        self.editingFinished.emit()


class QTextEdit(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._text, self.readOnly = "", False
        self.writes = 0  # setPlainText calls (each one scrolls back to the top)
        self._signals("textChanged")

    def toPlainText(self):
        return self._text

    def setPlainText(self, text):
        self.writes += 1
        changed = text != self._text
        self._text = text
        if changed:
            self.textChanged.emit()


class QTableWidgetItem:
    def __init__(self, text=""):
        self._text = str(text)
        self._table = None
        self._cell = None

    def text(self):
        return self._text

    def setText(self, text):
        text = str(text)
        if text != self._text:
            self._text = text
            if self._table is not None:
                self._table.cellChanged.emit(*self._cell)


class QTableWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._cells, self.rowCount, self._currentRow = {}, 0, -1
        self._signals("cellChanged")

    def setRowCount(self, rows):
        self.rowCount = rows
        self._cells = {cell: item for cell, item in self._cells.items() if cell[0] < rows}

    def item(self, row, column):
        return self._cells.get((row, column))

    def setItem(self, row, column, item):
        item._table, item._cell = self, (row, column)
        self._cells[(row, column)] = item

    def currentRow(self):
        return self._currentRow

    def setCurrentCell(self, row, column):
        self._currentRow = row

    def edit(self, row, column, text):
        """The user typing ``text`` into a cell (the item is created if the cell is empty)."""
        if self.item(row, column) is None:
            self.setItem(row, column, QTableWidgetItem())
        self.item(row, column).setText(text)


class qMRMLWidget(QWidget):  # noqa: N801
    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None
        self._signals("mrmlSceneChanged")

    def setMRMLScene(self, scene):
        self._scene = scene
        self.mrmlSceneChanged.emit(scene)

    def mrmlScene(self):
        return self._scene


class ctkCollapsibleButton(QWidget):  # noqa: N801
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.collapsed = False


class qMRMLNodeComboBox(qMRMLWidget):  # noqa: N801
    """Current node, cleared when the node leaves the scene."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._node, self.noneEnabled = None, False
        self._signals("currentNodeChanged")

    def currentNode(self):
        if self._node is not None and self._node.GetScene() is None:
            self._node = None
        return self._node

    def setCurrentNode(self, node):
        if node is not self.currentNode():
            self._node = node
            self.currentNodeChanged.emit(node)


class qMRMLPlotWidget(qMRMLWidget):  # noqa: N801
    def __init__(self, parent=None):
        super().__init__(parent)
        self._viewNode = None

    def setMRMLPlotViewNode(self, node):
        self._viewNode = node

    def mrmlPlotViewNode(self):
        return self._viewNode


class QVBoxLayout(QObject):
    def addWidget(self, widget):
        widget.setParent(self.parent())


class QProgressDialog(QWidget):
    """A progress dialog as slicer.util.createProgressDialog makes it (shown on the first value)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._hidden = True
        self._value = 0
        self.maximum, self.minimumDuration = 100, 4000
        self.labelText, self.windowTitle = "", ""
        self.windowModality = Qt.NonModal
        self.modalityWhenShown = None
        self.autoClose = self.autoReset = True
        self.wasCanceled = False
        self.values = []

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        first_at_minimum = not self.values and value == 0
        self._value = value
        self.values.append(value)
        # Qt shows the dialog at the first value after the minimum (minimumDuration 0), not before
        if self.modalityWhenShown is None and not self.wasCanceled and not first_at_minimum:
            self.modalityWhenShown = self.windowModality
            self.show()
        if value >= self.maximum and self.autoReset:
            self.reset()

    def setValue(self, value):
        self.value = value

    def reset(self):
        if self.autoClose:
            self.hide()
        self.wasCanceled = False

    def cancel(self):
        self.hide()
        self.reset()
        self.wasCanceled = True


class _Qt:
    NonModal, WindowModal, ApplicationModal = 0, 1, 2
    WaitCursor = 3


Qt = _Qt()


class QFileDialog:
    """Static dialogs answer from ``answers`` (a list the test fills: paths lists or a path)."""

    answers = []

    @staticmethod
    def getOpenFileNames(*args):
        return QFileDialog.answers.pop(0)

    @staticmethod
    def getSaveFileName(*args):
        return QFileDialog.answers.pop(0)


WIDGET_CLASSES = {cls.__name__: cls for cls in (
    QWidget, QLabel, QPushButton, QCheckBox, QSpinBox, QDoubleSpinBox, ctkSliderWidget, QComboBox,
    QLineEdit, QTextEdit, QTableWidget, qMRMLWidget, ctkCollapsibleButton, qMRMLNodeComboBox,
    qMRMLPlotWidget)}


def qt_module():
    """A ``qt`` module holding these classes."""
    module = types.ModuleType("qt")
    for cls in list(WIDGET_CLASSES.values()) + [QObject, QTableWidgetItem, QProgressDialog, QFileDialog,
                                                QVBoxLayout]:
        setattr(module, cls.__name__, cls)
    module.Qt = Qt
    return module


# ------------------------------------------------------------------------------------------------
# .ui files
# ------------------------------------------------------------------------------------------------


def _value(prop):
    value = list(prop)[0]
    text = value.text or ""
    return {"bool": lambda: text == "true", "number": lambda: int(text),
            "double": lambda: float(text)}.get(value.tag, lambda: text)()


# applied in this order (a value set before its range would be clamped)
_ORDER = ("decimals", "minimum", "maximum")


def _apply_properties(widget, element):
    props = [p for p in element.findall("property") if len(p)]
    props.sort(key=lambda p: _ORDER.index(p.get("name")) if p.get("name") in _ORDER else len(_ORDER))
    for prop in props:
        name, value = prop.get("name"), _value(prop)
        if prop.get("stdset") == "0":
            widget.setProperty(name, value)
        elif name not in ("geometry", "minimumSize", "sizeHint", "nodeTypes", "orientation"):
            setattr(widget, name, value)


def _build(element, parent, widgets):
    for child in element:
        if child.tag == "widget":
            cls = WIDGET_CLASSES[child.get("class")]
            widget = cls(parent)
            widget.objectName = child.get("name")
            _apply_properties(widget, child)
            widgets[widget.objectName] = widget
            _build(child, widget, widgets)
        elif child.tag in ("layout", "item"):
            _build(child, parent, widgets)


def load_ui(path):
    """The top widget of a .ui file, with its children and connections; ``.widgets``: name -> widget."""
    root = ET.parse(path).getroot()
    top = root.find("widget")
    widgets = {}
    holder = ET.Element("holder")
    holder.append(top)
    _build(holder, None, widgets)
    main = widgets[top.get("name")]
    for connection in root.iter("connection"):
        sender = widgets[connection.find("sender").text]
        receiver = widgets[connection.find("receiver").text]
        slot = getattr(receiver, connection.find("slot").text.split("(")[0])
        sender.connect(connection.find("signal").text, slot)
    main.widgets = widgets
    return main


def child_widget_variables(ui_widget):
    """slicer.util.childWidgetVariables: every named child as an attribute."""
    return types.SimpleNamespace(**ui_widget.widgets)
