"""The optional compiled path (needs numba): the same epoch and forward pass, in loops.

The NumPy loop of :mod:`nnscratch.core` is the reference and the default; this package
imports the core and the core never imports it at module level (its one seam is
:mod:`nnscratch.core.engine`, which imports it when called). Importing this package, its
Python sides (:mod:`~nnscratch.fast.epoch`, :mod:`~nnscratch.fast.forward`) or its
vocabulary (:mod:`~nnscratch.fast.codes`) imports nothing of numba: the kernels load on
first use. One file per concept:

- ``epoch``: when the compiled epoch applies, and :class:`~nnscratch.fast.epoch.CompiledEpoch`;
- ``forward``: when the compiled forward pass applies, and its Python side;
- ``codes``: the vocabulary the kernels share (activation codes, leaky ReLU's slope);
- ``llvm``: the LLVM intrinsics, aligned buffers and compiler settings (numba);
- ``lanes``: the lanes layout, 8 (float64) or 16 (float32) members to a vector, its epoch (numba);
- ``forward_lanes``: the forward pass on the lanes layout, for predictions (numba);
- ``members``: the one-member epoch, a member at a time, for small populations (numba);
- ``shuffle``: NumPy's PCG64 shuffles, compiled bit for bit (numba);
- ``threads``: a kernel's lane groups or members shared out over the cores' threads;
- ``cost``: what a run costs on each path, and when a compile repays itself (no numba);
- ``kernels``: the kernels by name, and whether one is loaded, cached or to compile (numba);
- ``warmup``: :func:`~nnscratch.fast.warmup.warmup`, every kernel compiled ahead of time.

Each kernel compiles lazily, on its first call, for that call's dtype and depth and (the
epoch and forward kernels) its one activation. ``engine="auto"`` compiles only where the
run repays it (:mod:`~nnscratch.fast.cost`), and says so once on stderr; ``"numba"``
always does. The kernels are cached on disk (numba's ``cache=True``: next to this package
or in ``NUMBA_CACHE_DIR``), and numba checks only the kernel's own file for changes: one
that uses another file's helpers or constants (``llvm``, its compile options
``llvm.KERNEL`` among them, ``codes`` and the core's ``LEAKY_RELU_SLOPE``, ``lanes``'
building blocks in ``forward_lanes``) keeps its cached code when only those change. After
editing them, delete ``src/nnscratch/fast/__pycache__``.
"""
