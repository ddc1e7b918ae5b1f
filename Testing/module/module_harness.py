"""GradientTools/GradientTools.py loaded on slicer-core as Slicer 5.8.1 or 5.10.0 would run it.

The MRML side is real: ``slicer.mrmlScene`` is a scene with Slicer's application, volume-rendering
and markups logics (GradientToolsLib.mrml.offscreen.OffscreenSlicer), so parameter nodes, scene
close (``Clear(0)``) and scene import behave as in Slicer. What needs the Qt application is replaced:
the widgets (qt_stand_ins.py, built from the real .ui file), the parameter-node wrapper
(parameter_node_stand_in.py, per Slicer version), the ScriptedLoadableModule base classes (their
getParameterNode as Slicer's: one singleton vtkMRMLScriptedModuleNode per module), slicer.i18n,
and the slicer.util functions that open windows. ``select_module`` enters and exits the panel as
Slicer's module selector does (setup once, then enter; exit when another module is selected).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
import unittest

import parameter_node_stand_in
import qt_stand_ins
import slicer
import slicer.util

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_DIR = os.path.join(ROOT, "GradientTools")
MODULE_PY = os.path.join(MODULE_DIR, "GradientTools.py")
MODULE_NAME = "GradientTools"
#: the module's package of panel sections (GradientTools/GradientToolsPanel)
PANEL_PACKAGE = "GradientToolsPanel"


def _scripted_module_bases():
    module = types.ModuleType("slicer.ScriptedLoadableModule")

    class ScriptedLoadableModule:
        def __init__(self, parent):
            self.parent = parent

    class ScriptedLoadableModuleWidget:
        def __init__(self, parent=None):
            self.moduleName = type(self).__name__[: -len("Widget")]
            self.parent = parent
            self.layout = parent.layout()

        def setup(self):
            pass

        def resourcePath(self, filename):
            return os.path.join(os.path.dirname(MODULE_PY), "Resources", filename)

    class ScriptedLoadableModuleLogic:
        def __init__(self, parent=None):
            self.moduleName = type(self).__name__[: -len("Logic")]

        def getParameterNode(self):
            node = slicer.mrmlScene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
            if node is None:
                node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
                node.UnRegister(None)
                node.SetSingletonTag(self.moduleName)
                node.SetName(slicer.mrmlScene.GenerateUniqueName(self.moduleName))
                node = slicer.mrmlScene.AddNode(node)
            if node.GetAttribute("ModuleName") != self.moduleName:  # removed by a scene close
                node.SetAttribute("ModuleName", self.moduleName)
            return node

    class ScriptedLoadableModuleTest(unittest.TestCase):
        def delayDisplay(self, message, msec=0):
            pass

    classes = (ScriptedLoadableModule, ScriptedLoadableModuleWidget, ScriptedLoadableModuleLogic,
               ScriptedLoadableModuleTest)
    for cls in classes:
        setattr(module, cls.__name__, cls)
    module.__all__ = [cls.__name__ for cls in classes]
    return module


def _i18n():
    module = types.ModuleType("slicer.i18n")
    module.tr = lambda text: text
    module.translate = lambda context, text: text
    return module


class ModulePanel(qt_stand_ins.QWidget):
    """The module panel Slicer gives a scripted widget (its ``parent``)."""

    def __init__(self):
        super().__init__()
        self.isEntered = False
        self._layout = qt_stand_ins.QVBoxLayout(self)

    def layout(self):
        return self._layout


class Harness:
    """The module loaded with the stand-ins; ``close()`` puts slicer, slicer.util and sys.modules back.

    Records what the user would have seen: ``errors`` (error dialogs of tryWithErrorDisplay),
    ``status`` (status-bar messages), ``dialogs`` (progress dialogs made), and runs ``on_events``
    callbacks whenever the module calls ``slicer.app.processEvents()`` (a user clicking meanwhile).
    """

    def __init__(self, version, offscreen):
        self.version = version
        self.offscreen = offscreen
        self.errors, self.status, self.dialogs, self.on_events = [], [], [], []
        self.main_window = qt_stand_ins.QWidget()
        self.widget = self.panel = None
        self.current_module = None
        self._saved_modules, self._saved_slicer, self._saved_util = {}, {}, {}
        qt = qt_stand_ins.qt_module()
        self._install_modules({
            "qt": qt, "slicer.ScriptedLoadableModule": _scripted_module_bases(), "slicer.i18n": _i18n(),
            "slicer.parameterNodeWrapper": parameter_node_stand_in.wrapper_module(version)})
        volume_rendering = offscreen.app.app_logic.GetModuleLogic("VolumeRendering")
        self._patch(slicer, self._saved_slicer, {
            "mrmlScene": offscreen.scene,
            "modules": types.SimpleNamespace(
                volumerendering=types.SimpleNamespace(logic=lambda: volume_rendering)),
            "app": types.SimpleNamespace(processEvents=self._process_events, testingEnabled=lambda: True,
                                         applicationLogic=lambda: offscreen.app.app_logic)})
        self._patch(slicer.util, self._saved_util, {
            "loadUI": qt_stand_ins.load_ui, "childWidgetVariables": qt_stand_ins.child_widget_variables,
            "tryWithErrorDisplay": self._try_with_error_display,
            "createProgressDialog": self._create_progress_dialog, "mainWindow": lambda: self.main_window,
            "selectModule": self.select_module,
            "showStatusMessage": lambda text, msec=0: self.status.append(text),
            "setSliceViewerLayers": lambda **kwargs: None,
            "errorDisplay": lambda text, **kwargs: self.errors.append(text)})
        qt_stand_ins.QFileDialog.answers = []
        # Slicer's scripted-module factory appends the module's folder to sys.path
        self._added_path = MODULE_DIR not in sys.path
        if self._added_path:
            sys.path.append(MODULE_DIR)
        self.module = self.load_module()

    def load_module(self, path=MODULE_PY):
        """Run a module file as Slicer 5.10's loader and Reload do (a new module object)."""
        spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    # -- what Slicer does ----------------------------------------------------------------------------

    def select_module(self, name):
        """Slicer's module selector: exit the shown module, set up the new one once, enter it."""
        if name == self.current_module:
            return
        if self.current_module == MODULE_NAME:
            self.panel.isEntered = False
            self.widget.exit()
        self.current_module = name
        if name == MODULE_NAME:
            if self.widget is None:
                self.panel = ModulePanel()
                self.widget = self.module.GradientToolsWidget(self.panel)
                self.widget.setup()
                slicer.modules.GradientToolsWidget = self.widget
            self.panel.isEntered = True
            self.widget.enter()

    def reload(self, path=MODULE_PY):
        """Slicer's Reload button (slicer.util.reloadScriptedModule): run the module file again, in
        the same module object on 5.8.1 (imp.load_module) or a new one on 5.10.0 (importlib), clean
        the widget up, then make and set up a new widget in the same panel (the C++ widget's
        reload(): setup, no enter). Returns the old widget."""
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        if self.version == "5.8.1":
            importlib.util.spec_from_file_location(MODULE_NAME, path).loader.exec_module(self.module)
        else:
            self.module = self.load_module(path)
        old = self.widget
        old.cleanup()
        self.widget = self.module.GradientToolsWidget(self.panel)
        self.widget.setup()
        slicer.modules.GradientToolsWidget = self.widget
        return old

    def cancel_after(self, count):
        """Press Cancel of the last progress dialog at the ``count``-th report (processEvents call);
        returns the list that gets one entry per report."""
        reports = []

        def cancel_at_count():
            reports.append(1)
            if len(reports) == count:
                self.dialogs[-1].cancel()

        self.on_events.append(cancel_at_count)
        return reports

    def _process_events(self):
        for callback in list(self.on_events):
            callback()

    @contextlib.contextmanager
    def _try_with_error_display(self, message=None, show=True, waitCursor=False):
        try:
            yield
        except Exception as error:  # shown, then re-raised, as slicer.util.tryWithErrorDisplay does
            self.errors.append(f"{message}\n\n{error}" if message else str(error))
            raise

    def _create_progress_dialog(self, parent=None, value=0, maximum=100, labelText="",
                                windowTitle="Processing...", **kwargs):
        dialog = qt_stand_ins.QProgressDialog(parent if parent else self.main_window)
        dialog.minimumDuration, dialog.maximum = 0, maximum
        dialog.value = value
        dialog.windowTitle, dialog.labelText = windowTitle, labelText
        for key, argument in kwargs.items():
            if hasattr(dialog, key):
                setattr(dialog, key, argument)
        self.dialogs.append(dialog)
        return dialog

    # -- helpers for tests ---------------------------------------------------------------------------

    def logic(self):
        return self.module.GradientToolsLogic()

    def parameters(self):
        """A fresh wrapper of the module's parameter node (what the console would see)."""
        return self.logic().getParameterNode()

    def run_self_test(self, name):
        result = unittest.TestResult()
        self.module.GradientToolsTest(name).run(result)
        return [text for _, text in result.errors + result.failures]

    # -- installing and removing the stand-ins -------------------------------------------------------

    def _install_modules(self, modules):
        for name, module in modules.items():
            self._saved_modules[name] = sys.modules.get(name)
            sys.modules[name] = module

    @staticmethod
    def _patch(target, saved, values):
        for name, value in values.items():
            saved[name] = getattr(target, name, None)
            setattr(target, name, value)

    def close(self):
        if self.widget is not None:
            self.widget.cleanup()
        for name, module in self._saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for target, saved in ((slicer, self._saved_slicer), (slicer.util, self._saved_util)):
            for name, value in saved.items():
                if value is None and hasattr(target, name):
                    delattr(target, name)
                elif value is not None:
                    setattr(target, name, value)
        if self._added_path and MODULE_DIR in sys.path:
            sys.path.remove(MODULE_DIR)
        forget_panel_package()


def forget_panel_package():
    """Drop the panel package's modules (they hold the stand-ins' qt module)."""
    for name in [n for n in sys.modules if n == PANEL_PACKAGE or n.startswith(PANEL_PACKAGE + ".")]:
        del sys.modules[name]
