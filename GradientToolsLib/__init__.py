"""GradientTools library: image gradients for volume rendering and diffusion gradient schemes.

Everything here runs without Qt and without the Slicer application: numpy, scipy and vtk only
(SimpleITK for file I/O, matplotlib for :mod:`GradientToolsLib.figures`, slicer-core for
:mod:`GradientToolsLib.mrml`).

Packages, in the order imports flow (a package imports only from those before it):

* ``errors``, ``progress``, ``_shared``: the error type, progress callbacks, validators, thread
  limits, atomic files;
* ``image`` (gradients for volume rendering) and ``diffusion`` (gradient schemes), independent;
* ``mrml`` (the only place that imports ``slicer``) and ``figures`` (the only matplotlib user);
* ``cli`` (the ``gradienttools`` command) and ``demo`` (``make demo``).

Conventions used throughout:

* volume arrays are numpy arrays in Slicer's K,J,I order, as ``slicer.util.arrayFromVolume`` returns;
* spacings are in I,J,K order, as ``vtkMRMLVolumeNode.GetSpacing()`` returns, in millimetres;
* functions that take time accept ``progress``, a callable ``progress(fraction, message)``.

Public names are imported lazily so that ``import GradientToolsLib`` stays cheap inside Slicer.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS = {
    "GradientToolsError": "errors",
    "OperationCancelled": "progress",
    # image gradients for volume rendering
    "gradient_magnitude": "image.gradient",
    # volumes larger than memory (zarr and dask: the optional extra "big")
    "gradient_magnitude_dask": "image.dask_gradient",
    "open_volume": "image.volume_sources",
    "ct_phantom": "image.phantoms",
    "Volume": "image.volume_io",
    "read_volume": "image.volume_io",
    "write_volume": "image.volume_io",
    "read_image_geometry": "image.volume_io",
    "suggest_gradient_opacity": "image.opacity",
    "GradientOpacitySuggestion": "image.opacity",
    "estimate_gradient_noise": "image.noise",
    "write_volume_property": "image.volume_property",
    "read_volume_property": "image.volume_property",
    "points_to_string": "image.volume_property",
    "string_to_points": "image.volume_property",
    "visible_range": "image.volume_property",
    # diffusion gradient schemes
    "GradientScheme": "diffusion.scheme",
    "parse_shells": "diffusion.shells",
    "format_shells": "diffusion.shells",
    "energy": "diffusion.energy",
    "energy_half": "diffusion.energy",
    "electrostatic_directions": "diffusion.electrostatic",
    "multishell_scheme": "diffusion.multishell",
    "generate_scheme": "diffusion.multishell",
    "read_scheme": "diffusion.readers",
    "convert_frame": "diffusion.frames",
    "split_scheme": "diffusion.split",
    "write_scheme": "diffusion.writers",
    "nrrd_dwi_header_lines": "diffusion.writers",
    "scheme_report": "diffusion.report",
    "format_report": "diffusion.report",
    "check_gradient_table": "diffusion.gradcheck",
    "GradientCheck": "diffusion.gradcheck",
    "dwi_phantom": "diffusion.dwi_phantom",
    "read_dwi": "image.volume_io",
    "check_gradient_table_for_node": "mrml.gradient_check",
    # MRML nodes (Slicer or slicer-core)
    "compute_gradient_magnitude": "mrml",
    "apply_gradient_opacity": "mrml",
    "scheme_to_markups": "mrml",
    # figures (matplotlib)
    "save_histogram_plot": "figures",
    "plot_scheme": "figures",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'GradientToolsLib' has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
