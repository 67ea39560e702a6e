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

Where each equation of the tutorial (numbered as in its text) is computed; a test reads
this table, checks that every function exists and that it cites its equation:

    (1)   softmax               functional.softmax
    (2)   minus the row max     functional.softmax
    (3)   ReLU                  functional.relu
    (4)   its gate              functional.relu_grad
    (6)   the model             layers.Dense.forward, network.MLP.forward
    (7)   the SGD step          optim.SGD._update
    (9)   cross-entropy         functional.cross_entropy, losses.SoftmaxCrossEntropy.forward
    (14)  dL/dA2 = Z2 - Y       losses.SoftmaxCrossEntropy.backward
    (15)  dW = x^T dy           layers.Dense.backward
    (16)  db = sum_n dy         layers.Dense.backward
    (17)  dy W^T, the gate      layers.Dense.backward, layers.ActivationLayer.backward
"""
