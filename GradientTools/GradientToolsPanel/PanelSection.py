"""The base class of the panel's collapsible sections."""


class PanelSection:
    """One collapsible section of the panel: its signals, its part of updateGui, its scene-close reset.

    ``widget`` is the GradientToolsWidget; ``self.ui`` and ``self.logic`` are its.
    """

    def __init__(self, widget) -> None:
        self.widget = widget
        self.ui = widget.ui
        self.logic = widget.logic
        self.connectSignals()

    @property
    def parameterNode(self):
        return self.widget.parameterNode

    def connectSignals(self) -> None:
        pass

    def connectButtons(self, **slots) -> None:
        """Connect the clicked signal of each named .ui button to its slot."""
        for name, slot in slots.items():
            getattr(self.ui, name).connect("clicked(bool)", slot)

    def updateGui(self, p, busy) -> None:
        pass

    def sceneClosed(self) -> None:
        pass
