"""The teaching core: math, layers, network, optimizers and the training loop. NumPy only.

Read it in this order: ``functional`` (the math), ``activations``, ``init``, ``layers``,
``losses``, ``network`` (the MLP), ``optim``, ``epoch`` (one epoch of minibatch descent),
``train`` (the loop), with ``seeding``, ``checks`` and ``callback`` beside them. ``engine``
is the one seam to the optional compiled path, :mod:`nnscratch.fast`.

Names. The tutorial writes its network as ``A1 = X W1 + b1; Z1 = max(0, A1);
A2 = Z1 W2 + b2; Z2 = softmax(A2)``, eq. (6). The core names the same values by what makes
them, for any depth: ``a`` a ``Dense`` layer's output (the pre-activation: the tutorial's
``A1``), ``h`` an activation's output (``Z1``), ``z`` the last ``Dense`` layer's output, the
logits (``A2``), and ``softmax(z)`` the probabilities (``Z2``); ``x`` is a layer's input,
``y`` its output, and ``dx, dy, dW, db`` their gradients.

Where each equation of the tutorial (numbered as in its text) is computed, by function;
a test checks that every name exists and cites its equation in its docstring:
"""

#: Equation number -> the function (module path, qualified name) that computes it.
EQUATIONS: dict[str, tuple[str, ...]] = {
    "(1)": ("functional.softmax",),  # softmax
    "(2)": ("functional.softmax",),  # minus the row maximum, for stability
    "(3)": ("functional.relu",),  # ReLU
    "(4)": ("functional.relu_grad",),  # its derivative, the gate
    "(6)": ("layers.Dense.forward", "network.MLP.forward"),  # the model: affine, f, affine
    "(7)": ("optim.SGD._update",),  # theta := theta - alpha * grad
    "(9)": ("functional.cross_entropy", "losses.SoftmaxCrossEntropy.forward"),  # the loss
    "(14)": ("losses.SoftmaxCrossEntropy.backward",),  # dL/dA2 = Z2 - Y
    "(15)": ("layers.Dense.backward",),  # dW = x^T dy
    "(16)": ("layers.Dense.backward",),  # db = column sums of dy
    "(17)": ("layers.Dense.backward", "layers.ActivationLayer.backward"),  # dy W^T, gate
}
