"""Checking an existing DWI's gradient table for flipped and swapped axes (fibre coherence).

==================  ==================================================================
module              job
==================  ==================================================================
``check``           :func:`check_gradient_table` and its result :class:`GradientCheck`
``candidates``      the 24 axis permutations and flips, and the rule that applies one
``tensor``          b=0 volumes, log-linear tensor fit, FA, principal directions
``mask``            a brain mask from the mean b=0
``tracking``        deterministic tensor streamlines for all candidates at once, in mm
==================  ==================================================================
"""

from .candidates import (
    Candidate,
    all_candidates,
    apply_candidate,
    candidate_matrix,
    canonical,
    describe,
    inverse,
)
from .check import GradientCheck, check_gradient_table

__all__ = ["Candidate", "GradientCheck", "all_candidates", "apply_candidate", "canonical", "candidate_matrix",
           "check_gradient_table", "describe", "inverse"]
