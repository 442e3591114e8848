"""Helpers every stage shares, one of each: hardware and precision, worker pools, atomic files
and staged output folders, pixel conversion, the cache location, TensorFlow's quiet import.
Nothing here imports a stage."""
