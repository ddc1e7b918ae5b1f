"""Subcommands of ``gradienttools``; see :mod:`GradientToolsLib.cli` for the contract."""
