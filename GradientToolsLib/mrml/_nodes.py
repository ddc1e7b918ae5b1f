"""Helpers every MRML module here shares: the attribute prefix and node checks.

Node attributes written by GradientTools start with ``GradientTools.`` so that generated nodes can
be found and read back after saving and reloading a scene.
"""

from __future__ import annotations

from typing import Optional

from ..errors import GradientToolsError

ATTRIBUTE_PREFIX = "GradientTools."


def require_node(node, class_name: str, what: str):
    if node is None:
        raise GradientToolsError(f"{what}: no node given")
    if not hasattr(node, "IsA") or not node.IsA(class_name):
        got = node.GetClassName() if hasattr(node, "GetClassName") else type(node).__name__
        raise GradientToolsError(f"{what}: expected a {class_name}, got {got}")




def attribute(node, key: str) -> Optional[str]:
    """The ``GradientTools.<key>`` attribute of a node, None when missing or empty."""
    value = node.GetAttribute(ATTRIBUTE_PREFIX + key)
    return value if value not in (None, "") else None


def require_scene(scene, what: str = "scene"):
    """``scene`` must be a vtkMRMLScene (not None, not a node)."""
    if scene is None or not hasattr(scene, "IsA") or not scene.IsA("vtkMRMLScene"):
        got = "nothing" if scene is None else (scene.GetClassName() if hasattr(scene, "GetClassName")
                                               else type(scene).__name__)
        raise GradientToolsError(f"{what}: expected a vtkMRMLScene, got {got}")
