"""GradientTools library: image gradients for volume rendering and diffusion gradient schemes.

Everything here runs without Qt and without the Slicer application: numpy, scipy and vtk only
(SimpleITK for command-line file I/O, slicer-core for :mod:`GradientToolsLib.mrml`).

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
    "gradient_magnitude": "gradient",
    "ct_phantom": "phantoms",
    "Volume": "volume_io",
    "read_volume": "volume_io",
    "write_volume": "volume_io",
    "suggest_gradient_opacity": "opacity",
    "GradientOpacitySuggestion": "opacity",
    "estimate_gradient_noise": "noise",
    "write_volume_property": "volume_property",
    "read_volume_property": "volume_property",
    "electrostatic_directions": "electrostatic",
    "multishell_scheme": "multishell",
    "GradientScheme": "scheme",
    "read_scheme": "scheme_io",
    "write_scheme": "scheme_io",
    "scheme_report": "scheme_stats",
    "compute_gradient_magnitude": "mrml",
    "apply_gradient_opacity": "mrml",
    "scheme_to_markups": "mrml",
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
