"""Diffusion gradient schemes: the scheme, shells, directions on the sphere, energies, the optimizer,
single- and multi-shell design, acquisition order and polarity, the quality report, and the file
formats of scanners and toolkits. Never imports ``image``."""
