"""The optional compiled path (needs numba): the same epoch and forward pass, in loops.

The NumPy loop of :mod:`nnscratch.core` is the reference and the default; this package
imports the core and the core never imports it at module level (its one seam is
:mod:`nnscratch.core.engine`, which imports it when called). Importing this package imports
nothing of numba: the kernels load on first use.
"""
