"""Saving a whole scene with its data files, without the Slicer application.
"""

from __future__ import annotations

import os

from ..errors import GradientToolsError
from ._nodes import require_scene

STORABLE_CLASSES = ("vtkMRMLVolumeNode", "vtkMRMLMarkupsNode", "vtkMRMLVolumePropertyNode",
                    "vtkMRMLTableNode", "vtkMRMLModelNode")


def save_scene_with_data(scene, folder: str, scene_file: str = "scene.mrml") -> str:
    """Write a scene as ``folder/scene_file`` plus one data file per storable node; return its path.

    Works without the Slicer application (``slicer.util.saveScene`` needs it): every volume, point
    list, volume property, table and model gets its default storage node and file (named after the
    node ID, so names with odd characters are safe), then the .mrml file is committed. Load it back
    with ``scene.SetURL(path); scene.Import()`` or drag it onto Slicer.
    """
    require_scene(scene)
    if not os.path.isdir(folder):
        raise GradientToolsError(f"output folder does not exist: {folder}")
    # storage nodes resolve relative file names against the scene's root directory, so a relative
    # folder would be applied twice
    folder = os.path.abspath(folder)
    scene.SetRootDirectory(folder)
    seen = set()
    for class_name in STORABLE_CLASSES:
        for i in range(scene.GetNumberOfNodesByClass(class_name)):
            node = scene.GetNthNodeByClass(i, class_name)
            if node.GetID() in seen:
                continue
            seen.add(node.GetID())
            storage = node.GetStorageNode()
            if storage is None:
                node.AddDefaultStorageNode()
                storage = node.GetStorageNode()
            if storage is None:
                continue
            extension = storage.GetDefaultWriteFileExtension()
            storage.SetFileName(os.path.join(folder, f"{node.GetID()}.{extension}"))
            if not storage.WriteData(node):
                raise GradientToolsError(f"could not write the data of node '{node.GetName()}'")
    path = os.path.join(folder, scene_file)
    scene.SetURL(path)
    if not scene.Commit():
        raise GradientToolsError(f"could not write the scene file {path}")
    return path
