"""The implementations nnscratch is measured against, one module per peer.

``numpy_loop``: the tutorial's algorithm in plain NumPy, one network at a time (the reference
the speed-ups are quoted against), and a bare, preallocated NumPy epoch for the large MLP.
``torch_peers``: PyTorch on the CPU, one network at a time and all networks stacked.
``sklearn_peer``: scikit-learn's ``MLPClassifier``, one network at a time.
"""
