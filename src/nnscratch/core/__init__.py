"""The teaching core: math, layers, network, optimizers and the training loop. NumPy only."""
