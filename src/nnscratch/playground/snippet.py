"""What the page shows in words: the equations of the current network and the nnscratch
code that trains the same thing outside the page (and what an exported file records)."""

from __future__ import annotations

from nnscratch.playground.settings import FEATURES


def training_record(s) -> dict:
    """The settings an exported model file keeps in its header (JSON values only)."""
    record = dict(s.settings.as_query())
    record.update(
        epochs=s.epoch,
        task=s.data.task,
        features=list(s.settings.features),
        preprocessor=s.pre.to_header(),
        source="nnscratch playground",
    )
    return record


def equations(s) -> list[str]:
    """One line per step of the current network: the forward pass (eq. (6) for every
    layer), the fused output gradient (eq. (14)), back-propagation (eq. (15)-(17)), the update."""
    st = s.settings
    sizes = [len(st.features), *st.hidden, s.net.n_outputs]
    L = len(sizes) - 1
    P, f = st.population, st.activations
    lines = [f"x: (P={P}, N, D={sizes[0]})   inputs {', '.join(st.features)}, standardised"]
    prev = "x"
    for i in range(1, L + 1):
        shape = f"({sizes[i - 1]}, {sizes[i]})"
        if i < L:
            lines.append(
                f"a{i} = {prev} W{i} + b{i},  h{i} = {f[i - 1]}(a{i})      W{i}: {shape}   eq. (6)"
            )
            prev = f"h{i}"
        else:
            lines.append(f"z = {prev} W{i} + b{i}      W{i}: {shape}   eq. (6)")
    if s.data.task == "classification":
        lines.append("p = softmax(z),  L = -mean log p[y]                    eq. (13)")
        lines.append("dz = (p - onehot(y)) / N                               eq. (14)")
    else:
        lines.append("L = mean (z - y)^2                                     (MSE)")
        lines.append("dz = 2 (z - y) / N")
    grad = "dz"
    for i in range(L, 0, -1):
        below = "x" if i == 1 else f"h{i - 1}"
        lines.append(
            f"dW{i} = {below}^T {grad},  db{i} = sum_n {grad}                 eq. (15), (16)"
        )
        if i > 1:
            g = f[i - 2]  # the activation of the layer below
            lines.append(
                f"dh{i - 1} = {grad} W{i}^T,  da{i - 1} = dh{i - 1} * {g}'(a{i - 1})   eq. (17)"
            )
            grad = f"da{i - 1}"
    if st.l2 or st.l1:
        terms = ([f"{st.l2:g} W"] if st.l2 else []) + ([f"{st.l1:g} sign(W)"] if st.l1 else [])
        lines.append(f"dW += {' + '.join(terms)}   (the L2 / L1 penalties, never on b)")
    if st.optimizer == "sgd":
        lines.append(f"W <- W - {st.lr:g} dW,  b <- b - {st.lr:g} db   (SGD, each member its own)")
    else:
        lines.append(f"W <- W - {st.lr:g} {st.optimizer}_step(dW)   (each member its own state)")
    return _aligned(lines)


def _aligned(lines: list[str]) -> list[str]:
    """The equation numbers in one column."""
    parts = [line.rsplit("   ", 1) if "eq." in line else [line] for line in lines]
    width = max(len(p[0].rstrip()) for p in parts if len(p) == 2)
    return [p[0].rstrip().ljust(width + 3) + p[1].strip() if len(p) == 2 else p[0] for p in parts]


def _data_lines(s) -> list[str]:
    st = s.settings
    if st.dataset == "custom":
        return [
            "table = nns.data.read('your_data.csv')  # two feature columns, the label last",
            "X, y = table.X, table.y",
        ]
    if st.dataset == "multigauss":
        return [
            "from nnscratch.playground.state import make_multigauss",
            f"X, y = make_multigauss(n_samples={st.points}, noise={st.noise!r}, seed={st.seed})",
        ]
    name = {"circle": "circles"}.get(st.dataset, st.dataset)
    scale = {"spiral": 2.0, "blobs": 8.0, "moons": 1.0, "circle": 0.5}.get(st.dataset, 1.0)
    return [
        f"X, y = nns.data.make_{name}(n_samples={st.points}, noise={scale * st.noise!r},"
        f" seed={st.seed})"
    ]


def python_snippet(s) -> str:
    """A script that trains the page's population the way the page does, epoch for epoch."""
    st = s.settings
    cols = [FEATURES.index(f) for f in st.features]
    sizes = [len(cols), *st.hidden, s.net.n_outputs]
    init, act = st.init, st.network_activation
    loss = "cross_entropy" if s.data.task == "classification" else "mse"
    task = s.data.task
    stratify = task == "classification"
    lines = [
        "import numpy as np",
        "import nnscratch as nns",
        "import nnscratch.data",
        "",
        *_data_lines(s),
        f"parts = nns.data.split(X, y, test={1.0 - st.train_ratio!r}, seed={st.seed},"
        f" stratify={stratify})",
        "pre = nns.data.Preprocessor(standardize=True, crosses=True).fit(parts.X_train)",
        f"columns = {cols}  # {', '.join(st.features)}",
        "X_train = pre.transform(parts.X_train)[:, columns]",
        "X_test = pre.transform(parts.X_test)[:, columns]",
        "",
        f"net = nns.MLP({sizes}, activation={act!r}, init={init!r}, loss={loss!r},",
        f"              seed={st.seed}, population={st.population}, l1={st.l1!r}, l2={st.l2!r},",
        f"              dropout={st.dropout!r})",
        f"optimizer = nns.get_optimizer({st.optimizer!r}, lr={st.lr!r})",
        f"for epoch in range({max(s.epoch, 1)}):",
        f"    net.fit(X_train, parts.y_train, epochs=1, batch_size={st.batch_size},",
        "            optimizer=optimizer,",
        f"            seed=np.random.SeedSequence([{st.seed}, epoch]), on_nonfinite='stop')",
        "print('test score per member:', net.score(X_test, parts.y_test))",
        "nns.save(net, 'playground.npz')",
    ]
    return "\n".join(lines)
