"""Image gradients for volume rendering: gradient-magnitude volumes (the slab engine and its
kernels), the noise of the renderer's gradient, suggested gradient-opacity curves, Slicer's
transfer-function files, volume files and synthetic phantoms. Never imports ``diffusion``."""
