"""A stand-in for ``slicer.parameterNodeWrapper`` as Slicer 5.8.1 and 5.10.0 behave, on real MRML nodes.

Written here from the behaviour documented in Slicer's sources (Base/Python/slicer/parameterNodeWrapper,
tags v5.8.1 and v5.10.0) and docs (Docs/developer_guide/parameter_nodes), not copied from them.
The parameters live in a real ``vtkMRMLScriptedModuleNode`` (slicer-core); the widgets are the
stand-ins of qt_stand_ins.py. What the tests depend on:

* values are stored as text parameters (enums by member name, nodes as node references); a missing
  value is written as the default when the wrapper is made or read; validators (``Choice``,
  ``WithinRange``, enum type) raise ValueError and store nothing;
* ``connectParametersToGui(mapping)`` returns a tag on both versions; ``connectGui(gui)`` returns the
  tag on 5.10.0 only (5.8.1 returns None, fixed by Slicer commit b5a65a49a0), so on 5.8
  ``disconnectGui(None)`` disconnects nothing and the old connectors stay connected;
* every connection adds a ModifiedEvent observer to the node that writes every still-connected
  parameter to its widget (the observer is never removed; disconnected connectors are skipped);
* a widget change sets the parameter unless the wrapper is itself writing to the widgets;
* connectors match the exact widget class; the Choice combo-box connector clears the combo box and
  refills it with ``str(choice)`` when made (so a still-connected older connector sees index -1 then
  0 and writes the first choice); the enum connector saves the selection, clears, refills with
  ``label()`` texts and restores it; the QLineEdit connector rewrites the text on every write on
  5.8.1 (the cursor jumps to the end, upstream issue 8620) and only when it differs on 5.10.0
  (commit 5e290f9562); the float connector puts WithinRange into the widget's minimum and maximum.
"""

from __future__ import annotations

import enum
import types
import typing

import vtk

VERSIONS = ("5.8.1", "5.10.0")


class Choice:
    def __init__(self, choices):
        self.choices = list(choices)

    def check(self, value):
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {self.choices}")


class WithinRange:
    def __init__(self, minimum, maximum):
        self.minimum, self.maximum = minimum, maximum

    def check(self, value):
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{value!r} is not within [{self.minimum}, {self.maximum}]")


def _is_node_type(cls):
    return isinstance(cls, type) and hasattr(cls, "IsA") and cls.__name__.startswith("vtkMRML")


class _Parameter:
    def __init__(self, name, hint, default):
        if typing.get_origin(hint) is typing.Annotated:
            self.type, *self.validators = typing.get_args(hint)
        else:
            self.type, self.validators = hint, []
        self.name = name
        self.is_node = _is_node_type(self.type)
        self.is_enum = isinstance(self.type, type) and issubclass(self.type, enum.Enum)
        self.default = default if default is not _MISSING else self._type_default()

    def _type_default(self):
        if self.is_node:
            return None
        if self.is_enum:
            return next(iter(self.type))
        return self.type()

    def check(self, value):
        if self.is_enum and not isinstance(value, self.type):
            raise ValueError(f"{self.name}: {value!r} is not a {self.type.__name__}")
        for validator in self.validators:
            validator.check(value)

    def write(self, node, value):
        self.check(value)
        if self.is_node:
            node.SetParameter(self.name, "")
            node.SetNodeReferenceID(self.name, value.GetID() if value is not None else None)
        elif self.is_enum:
            node.SetParameter(self.name, value.name)
        else:
            node.SetParameter(self.name, str(value))

    def read(self, node):
        if self.is_node:
            return node.GetNodeReference(self.name)
        if not node.GetParameter(self.name) and self.name not in node.GetParameterNames():
            self.write(node, self.default)
        text = node.GetParameter(self.name)
        if self.is_enum:
            return self.type[text]
        if self.type is bool:
            return text == "True"
        return self.type(text)


_MISSING = object()

#: Every wrapper that observes its node, kept reachable. VTK's Python objects show the garbage
#: collector the Python observers they added, so a wrapper referenced only by its own node's
#: observer looks like a dead cycle although the C++ node (held by the scene) still calls it: the
#: collector would clear the observer's closure and the node's next ModifiedEvent would crash the
#: interpreter (seen here: vtkMRMLScene::Clear -> ResetNodes -> Modified). The C++ command keeps the
#: observer alive, as the real wrapper's observers are kept; this list makes that visible to Python.
_OBSERVING = []


# ------------------------------------------------------------------------------------------------
# connectors
# ------------------------------------------------------------------------------------------------


class _Connector:
    """Binds one widget: ``signal`` (a widget attribute) tells of changes, ``get``/``put`` move values."""

    def __init__(self, widget, parameter, version, signal, get, put):
        self.widget, self.parameter, self.version = widget, parameter, version
        self._signal, self._get, self._put = signal, get, put
        self._callback = None

    def onChanged(self, callback):
        signal = getattr(self.widget, self._signal)
        if callback is None and self._callback is not None:
            signal.disconnect(self._changed)
        if callback is not None and self._callback is None:
            signal.connect(self._changed)
        self._callback = callback

    def _changed(self):
        if self._callback:
            self._callback()

    def read(self):
        return self._get(self.widget)

    def write(self, value):
        self._put(self.widget, value)


def _set(attribute):
    return lambda widget, value: setattr(widget, attribute, value)


def _line_edit(version):
    """5.8.1 rewrites the text on every write (the cursor goes to the end); 5.10.0 only a different one."""
    def put(widget, value):
        if version == "5.8.1" or value != widget.text:
            widget.text = value
    return put


def _number(widget, parameter, version):
    for validator in parameter.validators:
        if isinstance(validator, WithinRange):
            widget.setRange(validator.minimum, validator.maximum)
    return _Connector(widget, parameter, version, "valueChanged",
                      lambda w: parameter.type(w.value), _set("value"))


def _choice_combo(widget, parameter, version):
    """Clears the combo box and fills it with str(choice) for each Choice."""
    choices = next(v.choices for v in parameter.validators if isinstance(v, Choice))
    widget.clear()
    for choice in choices:
        widget.addItem(str(choice))
    return _Connector(widget, parameter, version, "currentIndexChanged", lambda w: choices[w.currentIndex],
                      lambda w, v: setattr(w, "currentIndex", choices.index(v)))


def _enum_combo(widget, parameter, version):
    """Saves the selection, clears, fills with label() of each member, restores the selection."""
    members = list(parameter.type)
    label = getattr(parameter.type, "label", lambda member: member.name)
    connector = _Connector(widget, parameter, version, "currentIndexChanged",
                           lambda w: members[w.currentIndex],
                           lambda w, v: setattr(w, "currentIndex", members.index(v)))
    saved = connector.read()
    widget.clear()
    for member in members:
        widget.addItem(label(member))
    connector.write(saved)
    return connector


def _connector(widget, parameter, version):
    kind = type(widget).__name__
    simple = {
        ("QCheckBox", bool): ("stateChanged", lambda w: w.checked, _set("checked")),
        ("QLineEdit", str): ("textChanged", lambda w: w.text, _line_edit(version)),
        ("QTextEdit", str): ("textChanged", lambda w: w.toPlainText(), lambda w, v: w.setPlainText(v)),
    }
    if (kind, parameter.type) in simple:
        return _Connector(widget, parameter, version, *simple[(kind, parameter.type)])
    if (kind == "QSpinBox" and parameter.type is int) or (
            kind in ("QDoubleSpinBox", "ctkSliderWidget") and parameter.type is float):
        return _number(widget, parameter, version)
    if kind == "QComboBox" and parameter.is_enum:
        return _enum_combo(widget, parameter, version)
    if kind == "QComboBox" and any(isinstance(v, Choice) for v in parameter.validators):
        return _choice_combo(widget, parameter, version)
    if kind == "qMRMLNodeComboBox" and parameter.is_node:
        return _Connector(widget, parameter, version, "currentNodeChanged", lambda w: w.currentNode(),
                          lambda w, v: w.setCurrentNode(v))
    raise RuntimeError(f"no connector for a {kind} holding {parameter.name} ({parameter.type})")


# ------------------------------------------------------------------------------------------------
# the wrapper
# ------------------------------------------------------------------------------------------------


def _make_wrapper_class(cls, version):
    hints = typing.get_type_hints(cls, include_extras=True)
    parameters = {name: _Parameter(name, hint, getattr(cls, name, _MISSING)) for name, hint in hints.items()}

    def __init__(self, parameterNode):
        self.parameterNode = parameterNode
        self._guis, self._nextTag, self._updating = {}, 0, False
        for parameter in parameters.values():
            if not parameter.is_node and parameter.name not in parameterNode.GetParameterNames():
                parameter.write(parameterNode, parameter.default)

    def updateGui(self):
        if self._updating:
            return
        self._updating = True
        try:
            for mapping in list(self._guis.values()):
                for name, connector in mapping.items():
                    connector.write(getattr(self, name))
        finally:
            self._updating = False

    def connectParametersToGui(self, mapping):
        connectors = {name: _connector(widget, parameters[name], version) for name, widget in mapping.items()}
        tag = self._nextTag
        self._nextTag += 1
        self._guis[tag] = connectors
        for name, connector in connectors.items():
            connector.write(getattr(self, name))
            connector.onChanged(lambda name=name, connector=connector: self._fromGui(name, connector))
        self.parameterNode.AddObserver(vtk.vtkCommand.ModifiedEvent, lambda caller, event: updateGui(self))
        _OBSERVING.append(self)
        return tag

    def _fromGui(self, name, connector):
        if not self._updating:
            setattr(self, name, connector.read())

    def connectGui(self, gui):
        children = gui.findChildren(object) if hasattr(gui, "findChildren") else list(vars(gui).values())
        mapping = {w.property("SlicerParameterName"): w for w in children
                   if hasattr(w, "property") and w.property("SlicerParameterName")}
        tag = self.connectParametersToGui(mapping)
        return tag if version != "5.8.1" else None

    def disconnectGui(self, tag):
        if tag in self._guis:
            for connector in self._guis.pop(tag).values():
                connector.onChanged(None)

    namespace = {
        "__init__": __init__, "connectParametersToGui": connectParametersToGui, "connectGui": connectGui,
        "disconnectGui": disconnectGui, "_fromGui": _fromGui, "allParameters": parameters,
        "StartModify": lambda self: self.parameterNode.StartModify(),
        "EndModify": lambda self, was: self.parameterNode.EndModify(was),
        "AddObserver": lambda self, event, callback, priority=0.0: self.parameterNode.AddObserver(
            event, callback, priority),
        "RemoveObserver": lambda self, tag: self.parameterNode.RemoveObserver(tag),
        "Modified": lambda self: self.parameterNode.Modified(),
    }
    for name, parameter in parameters.items():
        namespace[name] = property(lambda self, p=parameter: p.read(self.parameterNode),
                                   lambda self, value, p=parameter: p.write(self.parameterNode, value))
    return type(cls.__name__, (), namespace)


def wrapper_module(version):
    """A ``slicer.parameterNodeWrapper`` module behaving as Slicer ``version`` (see VERSIONS)."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}")
    module = types.ModuleType("slicer.parameterNodeWrapper")
    module.Choice, module.WithinRange = Choice, WithinRange
    module.parameterNodeWrapper = lambda cls: _make_wrapper_class(cls, version)
    module.version = version
    return module
