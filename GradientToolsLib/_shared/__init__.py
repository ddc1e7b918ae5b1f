"""What every part of the library needs and no part owns: argument validators, BLAS/thread limits,
atomic output files. Nothing here imports another part of the library (only ``errors``)."""
