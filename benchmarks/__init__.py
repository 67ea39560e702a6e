"""Benchmarks: nnscratch against plain NumPy, PyTorch and scikit-learn (see ``run.py``)."""
