"""The ``nnscratch`` command line: reproduce the tutorial, train, repeat, sweep.

    nnscratch reproduce [--out DIR]          the tutorial's experiments and figures, as a report
    nnscratch train [--hidden 64] ...        one network (or --population N) on a data set
    nnscratch experiment --trials N ...      N trials of one configuration, summarised
    nnscratch sweep --hidden 3:40 ...        a grid of configurations, N trials each
    nnscratch predict MODEL [DATA]           a saved model's predictions, as CSV
    nnscratch inspect MODEL                  what a model file holds
    nnscratch export MODEL OUT.onnx          a saved model as ONNX, for serving elsewhere
    nnscratch playground                     a live page: train a population, watch it learn
    nnscratch warmup                         compile the optional fast path ahead of time

Every command takes ``--seed``, ``--json`` (machine-readable output on stdout) and
``--quiet``. Whatever goes wrong prints one line on stderr, never a traceback, and the exit
status says what it was: 2 bad input (found before any work), 1 a failure while running
(a run that diverged, a full disk, a plot that failed), 130 Ctrl-C. A command stopped by
Ctrl-C or by a failure after training first prints and saves what it has.

Only the standard library is imported here at module level; everything else is imported
inside :func:`main`, so that a Ctrl-C while it loads ends like any other.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
RECORD_SUFFIXES = (".json", ".csv", ".jsonl")
MODEL_SUFFIXES = (".npz",)

#: Exit statuses.
BAD_INPUT, FAILED, INTERRUPTED = 2, 1, 130


class UsageError(ValueError):
    """Bad command-line input; reported in one line, exit status 2."""


class RunFailure(RuntimeError):
    """A failure while running (after the input was checked); one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nnscratch sweep: error: ...`` on stderr, status 2."""

    def error(self, message: str):  # argparse's own errors (unknown options, bad types)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --- argument types ---------------------------------------------------------------------------


def _number(kind: type, minimum: int, open_low: bool = False, maximum: int | None = None):
    """An argparse type: ``kind`` (``int`` or ``float``) >= ``minimum`` (> it if ``open_low``),
    and <= ``maximum`` when given."""
    bound = f"{'>' if open_low else '>='} {minimum}"
    bound += f" and <= {maximum}" if maximum is not None else ""
    noun = "an integer" if kind is int else "a number"
    checked = "an integer" if kind is int else "a finite number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun} {bound}, got {text!r}") from None
        in_range = value > minimum if open_low else value >= minimum
        in_range = in_range and (maximum is None or value <= maximum)
        if not in_range or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected {checked} {bound}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1)
_seed = _number(int, 0)
_positive_float = _number(float, 0, open_low=True)


def _layers(text: str) -> tuple[int, ...]:
    """``64`` or ``64,32``: the hidden layer widths of one network."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected hidden widths like 64 or 64,32 (integers >= 1), got {text!r}"
        ) from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"expected hidden widths >= 1, got {text!r}")
    return widths


def parse_values(text: str, kind: type = int) -> list:
    """Sweep values: ``start:stop[:step]`` (stop excluded, as Python's ``range``) or ``a,b,c``.

    ``kind`` is ``int`` or ``float``; every value must be > 0. ``3:40`` gives 3, 4, ..., 39;
    ``0.1:0.5:0.1`` gives 0.1, 0.2, 0.3, 0.4. A range is counted before it is built, and one
    of more than ``MAX_TRIALS`` values (each value is a configuration) is refused.
    """
    from nnscratch.experiments.config import MAX_TRIALS

    what = "integers >= 1" if kind is int else "numbers > 0"
    accepted = f"start:stop[:step] with start < stop, or a comma list (of {what})"
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop = kind(parts[0]), kind(parts[1])
            step = kind(parts[2]) if len(parts) == 3 else kind(1)
            if not (step > 0 and start < stop):
                raise ValueError
            count = _range_count(start, stop, step)
            if count > MAX_TRIALS:
                many = f"{count:.3g}" if math.isfinite(count) else "too many to count"
                raise argparse.ArgumentTypeError(
                    f"expected at most {MAX_TRIALS} values, got {text!r} ({many} values)"
                )
            if kind is int:
                values = list(range(start, stop, step))
            else:
                values = [round(start + k * step, 12) for k in range(int(count))]
        else:
            values = [kind(part) for part in text.split(",")]
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected {accepted}, got {text!r}") from None
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise argparse.ArgumentTypeError(f"expected {accepted}, got {text!r}")
    return values


def _depths(text: str) -> list[int]:
    """``warmup --hidden-layers``: a comma list of whole numbers (0: no hidden layer); the
    library checks their range."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a comma list of whole numbers such as 0,1,2, got {text!r}"
        ) from None


def _range_count(start, stop, step) -> float:
    """How many values ``start:stop:step`` gives (stop excluded), counted, not built."""
    if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int):
        return len(range(start, stop, step))
    span = (stop - start) / step  # inf when it overflows: too many either way
    return float(math.ceil(span - 1e-9)) if math.isfinite(span) else math.inf


def _int_values(text: str) -> list[int]:
    return parse_values(text, int)


def _float_values(text: str) -> list[float]:
    return parse_values(text, float)


def _data_source(text: str) -> str:
    """A built-in data set's name or a data file that exists."""
    from nnscratch.data.source import check_source

    try:
        return check_source(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("data: ")) from None


def _choice(names: Sequence[str], what: str):
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}; accepted: {', '.join(sorted(names))}"
            )
        return text

    return parse


# --- the parser -------------------------------------------------------------------------------

# Why the command line's defaults differ from MLP.fit's (Adam at 1e-3): plain SGD is the
# tutorial's algorithm, and at 0.1 it trains the default 2-64-2 network in a few epochs.
_FIT_DEFAULT = "the Python API's MLP.fit defaults to adam at 1e-3"
_OPTIMIZER_HELP = (
    f"sgd, adagrad, rmsprop, adam or adamw (default: sgd, the tutorial's algorithm; {_FIT_DEFAULT})"
)
_LR_DEFAULT = (
    f"default: 0.1, a rate at which sgd trains a 2-64-2 network in a few epochs; {_FIT_DEFAULT}"
)
_LR_HELP = f"learning rate ({_LR_DEFAULT})"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=_seed, default=0, help="root seed (default: 0)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _model_options(p: argparse.ArgumentParser, hidden: bool = True) -> None:
    from nnscratch.core.activations import available_activations
    from nnscratch.core.init import available_initializers
    from nnscratch.data import DATASETS

    p.add_argument(
        "--data",
        type=_data_source,
        default="moons",
        metavar="NAME|FILE",
        help=f"a built-in data set ({', '.join(DATASETS)}; default: moons) or a data file: "
        "CSV/TSV with a header row, .npz with X and y, or MNIST-style IDX",
    )
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="a CSV file's label column (default: the last one)",
    )
    p.add_argument(
        "--test",
        metavar="FILE",
        help="held-out rows in a second file of the same columns (default: split --data)",
    )
    p.add_argument(
        "--test-fraction",
        type=_number(float, 0, open_low=True, maximum=1),
        default=0.25,
        metavar="F",
        help="a file's share of rows held out for testing, stratified (default: 0.25)",
    )
    p.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise the features on the training rows (default: on for a file, off "
        "for the built-in sets, kept as the tutorial had them)",
    )
    p.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="a file's target: class labels, or numbers to regress on (train only); auto: "
        "numbers with a decimal point are a regression target, anything else labels",
    )
    p.add_argument(
        "--missing",
        choices=("error", "drop"),
        default="error",
        help="a file's empty or NaN cells: an error (default), or drop their rows",
    )
    p.add_argument(
        "--crosses",
        action="store_true",
        help="add x1^2, x2^2, x1*x2, sin x1, sin x2 to two features (TensorFlow Playground's)",
    )
    if hidden:
        p.add_argument(
            "--hidden",
            type=_layers,
            default=(64,),
            help="hidden layer widths, e.g. 64 or 64,32 (default: 64)",
        )
    p.add_argument(
        "--activation",
        type=_choice(available_activations(), "activation"),
        default="relu",
        help="hidden activation (default: relu)",
    )
    p.add_argument(
        "--init",
        type=_choice(available_initializers(), "initialiser"),
        default="he",
        help="weight initialiser (default: he)",
    )
    p.add_argument("--epochs", type=_positive_int, default=10, help="epochs (default: 10)")
    p.add_argument("--optimizer", default="sgd", help=_OPTIMIZER_HELP)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")


def build_parser() -> argparse.ArgumentParser:
    from nnscratch import __version__

    parser = _Parser(
        prog="nnscratch",
        description="Neural networks from scratch in NumPy, population-first.",
    )
    parser.add_argument("--version", action="version", version=f"nnscratch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _reproduce_parser(sub)
    _train_parser(sub)
    _experiment_parser(sub)
    _sweep_parser(sub)
    _predict_parser(sub)
    _inspect_parser(sub)
    _export_parser(sub)
    _playground_parser(sub)
    _warmup_parser(sub)
    return parser


def _reproduce_parser(sub) -> None:
    p = sub.add_parser(
        "reproduce",
        help="re-run every experiment and figure of the tutorial",
        description="Re-run the tutorial's experiments and figures with its settings; write "
        "DIR/index.html, DIR/results.json and the figures, and print a summary with timings.",
    )
    p.add_argument(
        "--out",
        default="nnscratch-report",
        metavar="DIR",
        help="report folder (default: ./nnscratch-report)",
    )
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # tests only
    _common(p)


def _train_parser(sub) -> None:
    from nnscratch.experiments.config import MAX_TRIALS

    p = sub.add_parser(
        "train",
        help="train one network (or a population) and report its accuracy",
        description="Train one network, or --population N independent ones, on a built-in "
        "data set; print per-epoch progress (test_loss, test_accuracy: on the test split) "
        "and the final train/test accuracy.",
    )
    _model_options(p)
    p.add_argument("--batch-size", type=_positive_int, default=32, help="(default: 32)")
    p.add_argument("--lr", type=_positive_float, default=0.1, help=_LR_HELP)
    p.add_argument(
        "--population",
        type=_number(int, 1, maximum=MAX_TRIALS),
        default=None,
        metavar="N",
        help="train N independent networks at once",
    )
    p.add_argument("--plot", metavar="FILE", help="save the decision boundary (.png/.svg/.pdf)")
    p.add_argument(
        "--save",
        metavar="FILE",
        help="save the trained model (.npz; also when Ctrl-C stops training)",
    )
    _common(p)


def _experiment_parser(sub) -> None:
    from nnscratch.experiments.config import MAX_TRIALS

    p = sub.add_parser(
        "experiment",
        help="N independent trials of one configuration, summarised",
        description="Train --trials N independent networks of one configuration as one "
        "population; print the mean, the sample standard deviation (ddof=1) and a 95% "
        "percentile bootstrap interval over the trials.",
    )
    _model_options(p)
    p.add_argument("--batch-size", type=_positive_int, default=32, help="(default: 32)")
    p.add_argument("--lr", type=_positive_float, default=0.1, help=_LR_HELP)
    p.add_argument(
        "--trials", type=_number(int, 1, maximum=MAX_TRIALS), default=10, help="(default: 10)"
    )
    p.add_argument("--out", metavar="FILE", help=_OUT_HELP)
    _backend_options(p)
    _common(p)


def _sweep_parser(sub) -> None:
    from nnscratch.experiments.config import MAX_LAYERS, MAX_TRIALS

    p = sub.add_parser(
        "sweep",
        help="a grid of configurations, N trials each",
        description="Sweep hidden width, learning rate and batch size (each a range "
        "start:stop[:step], stop excluded, or a comma list), --trials N each; configurations "
        "that can share one population train together.",
    )
    _model_options(p, hidden=False)
    p.add_argument(
        "--hidden",
        type=_int_values,
        default=[64],
        help="hidden widths, e.g. 3:40 or 8,16,32 (default: 64)",
    )
    p.add_argument(
        "--layers",
        type=_number(int, 1, maximum=MAX_LAYERS),
        default=1,
        help="hidden layers, each of the swept width (default: 1)",
    )
    p.add_argument(
        "--lr",
        type=_float_values,
        default=[0.1],
        help=f"learning rates, e.g. 0.01,0.1,1 ({_LR_DEFAULT})",
    )
    p.add_argument(
        "--batch-size",
        type=_int_values,
        default=[32],
        help="batch sizes, e.g. 16,32,64 (default: 32)",
    )
    p.add_argument(
        "--trials", type=_number(int, 1, maximum=MAX_TRIALS), default=3, help="(default: 3)"
    )
    p.add_argument("--plot", metavar="FILE", help="save the sweep plot (.png/.svg/.pdf)")
    p.add_argument("--out", metavar="FILE", help=_OUT_HELP)
    _backend_options(p)
    _common(p)


_OUT_HELP = (
    "save the records (.json or .csv); a .jsonl file is written as each part finishes, and "
    "running the same command again resumes from it"
)


def _backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=("local", "processes", "dask"),
        default="local",
        help="where the populations train: in this process (default), on this machine's "
        "cores (joblib's processes), or on a Dask cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://127.0.0.1:8786 (--backend dask; without "
        "it, a local cluster is started and closed)",
    )
    p.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="workers for --backend processes or a local dask cluster (default: every core)",
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="at most N networks to a population (default: what fits in memory, and at "
        "least one population per worker)",
    )


def _warmup_parser(sub) -> None:
    p = sub.add_parser(
        "warmup",
        help="compile the optional fast path ahead of time (numba), for a classroom",
        description="Compile the compiled path's kernels into numba's cache now, so that no "
        "later run waits for them (a run on a cold cache otherwise trains on NumPy, or "
        "compiles once when that repays). One line per kernel; kernels cached already are "
        "only loaded.",
    )
    p.add_argument(
        "--activation",
        action="append",
        metavar="NAME",
        help="a hidden activation to compile for, again for more, or 'all' (default: relu)",
    )
    p.add_argument(
        "--dtype",
        choices=("float64", "float32", "both"),
        default="float64",
        help="(default: float64)",
    )
    p.add_argument(
        "--hidden-layers",
        type=_depths,
        default=[1],
        metavar="L",
        help="hidden layers to compile for, e.g. 1 or 0,1,2 (default: 1, the tutorial's)",
    )


def _playground_parser(sub) -> None:
    p = sub.add_parser(
        "playground",
        help="a live page in the browser: train a population and watch it learn",
        description="Serve the playground on this machine and open it in the browser: pick a "
        "data set, shape the network, press play and watch the boundary of every member. "
        "Ctrl-C stops the server.",
    )
    p.add_argument(
        "--port",
        type=_number(int, 0, maximum=65535),
        default=8000,
        help="(default: 8000; 0: any free port)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, this machine only)",
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")


def _model_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a model file (.npz) saved by nnscratch")


def _member_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--member",
        type=_seed,
        default=None,
        metavar="P",
        help=f"{what} member P of a population (counted from 0)",
    )


def _predict_parser(sub) -> None:
    from nnscratch.data import DATASETS

    p = sub.add_parser(
        "predict",
        help="a saved model's predictions, as CSV",
        description="Predict with a saved model, one CSV row per input row, in order: a "
        "'prediction' column (the label, as in the training data) and, for a classifier, "
        "'proba_<label>' per class. A population predicts through --member P or --mean.",
    )
    _model_argument(p)
    p.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        type=_data_source,
        help=f"a built-in data set ({', '.join(DATASETS)}) or a data file with the model's "
        "feature columns, by name, in any order (default: what the model was trained on)",
    )
    p.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="which rows of a built-in data set (default: test; a file: every row)",
    )
    p.add_argument("--output", metavar="FILE", help="write the CSV here (default: stdout)")
    _member_option(p, "predict with")
    p.add_argument("--mean", action="store_true", help="average a population's members")


def _inspect_parser(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="what a model file holds: architecture, classes, training",
        description="Check a model file (every array against its SHA-256) and print its "
        "header: architecture, classes, training settings and history.",
    )
    _model_argument(p)
    p.add_argument("--json", action="store_true", help="print the header as JSON")


def _export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="a saved model as ONNX, for serving elsewhere",
        description="Write a saved network (or one member of a population) as an ONNX "
        "graph (needs the onnx package: pip install 'nnscratch[onnx]').",
    )
    _model_argument(p)
    p.add_argument("output", metavar="OUT", help="the ONNX file to write (.onnx)")
    _member_option(p, "export")


# --- shared pieces ----------------------------------------------------------------------------


def _output_path(path: str | None, option: str, suffixes: Sequence[str]) -> Path | None:
    """Check an output file before any work: known suffix, writable place."""
    from nnscratch.io.atomic import check_writable

    if path is None:
        return None
    if Path(path).suffix.lower() not in suffixes:
        raise UsageError(
            f"{option}: expected a file name ending in {', '.join(suffixes)}, got {path!r}"
        )
    return check_writable(path, option)


def _config(args, **fields):
    from nnscratch.experiments import Config

    return Config(
        activation=args.activation,
        init=args.init,
        optimizer=args.optimizer,
        epochs=args.epochs,
        dtype=args.dtype,
        **fields,
    )


def _print_json(payload) -> None:
    from nnscratch.experiments.records import json_safe

    print(json.dumps(json_safe(payload), indent=1, allow_nan=False))


def _test_named(values: dict) -> dict:
    """``val_loss`` as ``test_loss`` (and so on): ``train`` validates on the test split, and
    says so. The library's keys stay ``val_*``, whatever the validation data is."""
    return {("test_" + k[4:] if k.startswith("val_") else k): v for k, v in values.items()}


def _say(args, text: str) -> None:
    """Progress text: on stdout, unless --json (stdout is for JSON) or --quiet."""
    if not args.quiet:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)


# --- commands ---------------------------------------------------------------------------------


def cmd_reproduce(args) -> int:
    from nnscratch.experiments.report import summary_table
    from nnscratch.experiments.reproduce import prepare_output, reproduce

    prepare_output(args.out, "--out")  # the library's check, in the option's name
    try:  # Ctrl-C (Interrupted) or a failure: the exception says where, and what was kept
        results = reproduce(
            args.out,
            seed=args.seed,
            quick=args.quick,
            quiet=args.quiet,
            log=lambda text: _say(args, text),
        )
    except RuntimeError as failure:
        raise RunFailure(str(failure)) from failure
    if args.json:
        _print_json(results)
    else:
        print(summary_table(results))
        print(f"report: {Path(args.out) / 'index.html'}")
    return 0


def _diverged(error, args, population: int | None) -> str:
    """What to do from the command line when training diverged (there is no on_nonfinite)."""
    who = "the network" if population is None else f"network(s) {error.members} of {population}"
    return (
        f"training diverged: {who} got a loss or weights that are not finite in epoch "
        f"{error.epoch + 1}; try a lower --lr (it was {args.lr:g})"
    )


def _train_network(args):
    """The network ``train`` asks for, trained: ``(net, config, history, seconds, data)``."""
    import numpy as np

    from nnscratch.core.callback import Callback, NonFiniteError
    from nnscratch.core.checks import check_fits
    from nnscratch.core.seeding import child
    from nnscratch.core.train import format_epoch
    from nnscratch.data import n_classes
    from nnscratch.experiments.config import make_optimizer
    from nnscratch.experiments.runner import build_network

    config = _config(args, hidden=args.hidden, lr=args.lr, batch_size=args.batch_size)
    source = _source(args)
    data = source.split
    X_train, X_test, y_train, y_test = data
    if args.plot is not None and X_train.shape[1] != 2:
        raise UsageError(
            f"--plot: expected a data set with 2 features, got {args.data!r} with "
            f"{X_train.shape[1]}"
        )
    if args.plot is not None and source.classes is None:
        raise UsageError("--plot: expected a classifier to draw its boundary, got a regressor")
    P = args.population
    sizes = [X_train.shape[1], *config.hidden, 1 if source.classes is None else 2]
    # the batches and the evaluation too, before a weight is drawn (MLP checks its weights)
    check_fits("--hidden", P or 1, sizes, np.dtype(config.dtype).itemsize, config.batch_size,
               max(len(X_train), len(X_test)))  # fmt: skip
    seed = np.random.SeedSequence(args.seed)
    seeds = seed if P is None else [child(seed, p) for p in range(P)]
    if source.classes is None:  # a regression target: one linear output, mean squared error
        net = _regressor(config, X_train.shape[1], P, seeds)
    else:
        K = n_classes(y_train, y_test)
        net = build_network(config if P is None else [config] * P, X_train.shape[1], K, seeds)

    class _Print(Callback):
        def on_epoch_end(self, run, epoch, logs) -> None:
            _say(args, format_epoch(epoch, run.epochs, _test_named(logs)))

    start = time.perf_counter()
    try:  # overflow on the way to a divergence is reported once, below, not as warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            history = net.fit(
                X_train,
                y_train,
                epochs=config.epochs,
                batch_size=config.batch_size,
                optimizer=make_optimizer(config.optimizer, config.lr),
                validation_data=(X_test, y_test),
                callbacks=[_Print()],
            )
    except NonFiniteError as error:
        raise RunFailure(_diverged(error, args, P)) from None
    return net, config, history, time.perf_counter() - start, source


def _regressor(config, n_features: int, P: int | None, seeds):
    """The network of ``config`` with one linear output trained on the mean squared error
    (the runner's configurations are classifiers: their records report accuracy)."""
    from nnscratch.core.network import MLP

    return MLP(
        [n_features, *config.hidden, 1],
        activation=config.activation,
        init=config.init,
        bias_init=config.bias_init,
        init_scale=config.init_scale,
        seed=seeds,
        population=P,
        loss="mse",
        dtype=config.dtype,
        l2=config.l2,
        dropout=config.dropout,
    )


def _source(args, classes_only: bool = False):
    """The data of ``--data`` (and ``--target``, ``--test``, ...), split and prepared;
    ``classes_only``: a regression target is refused (the records report accuracy)."""
    from nnscratch.data.source import load_source

    task = args.task
    if classes_only and task == "regression":
        raise UsageError(
            f"--task: expected classification or auto for {args.command} (its records report "
            "accuracy), got regression; train one regressor with nnscratch train"
        )
    # fmt: off
    source = load_source(args.data, args.target, args.test, args.test_fraction, args.standardize,
                         args.seed, args.crosses, task, args.missing)
    # fmt: on
    if classes_only and source.classes is None:
        raise UsageError(
            f"--data: expected class labels for {args.command} (its records report accuracy), "
            f"got {args.data!r}, whose target {source.target!r} reads as numbers (a regression "
            "target: train one regressor with nnscratch train, or pass --task classification)"
        )
    return source


def cmd_train(args) -> int:
    import numpy as np

    from nnscratch.experiments.runner import Interrupted

    plot = _output_path(args.plot, "--plot", PLOT_SUFFIXES)
    save = _output_path(args.save, "--save", MODEL_SUFFIXES)
    net, config, history, seconds, source = _train_network(args)
    X_train, X_test, y_train, y_test = source.split
    if save is not None:  # first: nothing that trained is lost to what follows
        _save_model(args, net, config, history, save, source)
    train_acc = np.atleast_1d(net.score(X_train, y_train))  # (P,): accuracy, or R^2
    test_acc = np.atleast_1d(net.score(X_test, y_test))
    P = args.population
    metric = "accuracy" if source.classes is not None else "R^2"
    if args.json:
        single = P is None
        key = "accuracy" if source.classes is not None else "r2"
        _print_json(
            {
                "config": config.to_dict(),
                "data": args.data,
                "seed": args.seed,
                "population": P,
                f"train_{key}": float(train_acc[0]) if single else train_acc.tolist(),
                f"test_{key}": float(test_acc[0]) if single else test_acc.tolist(),
                "history": _test_named(history.to_dict()),
                "interrupted": history.interrupted,
                "seconds": seconds,
            }
        )
    elif P is None:
        print(
            f"train {metric} {train_acc[0]:.4f}  test {metric} {test_acc[0]:.4f}  ({seconds:.2f} s)"
        )
    else:
        print(
            f"{P} networks: train {metric} {_mean_std(train_acc)}  test {metric} "
            f"{_mean_std(test_acc)} (mean ± sample std, ddof=1)  ({seconds:.2f} s)"
        )
    if save is not None and not args.json:
        print(f"model: {save}")
    if plot is not None:
        from nnscratch.plots import plot_decision_boundary

        mode = "mean" if P else "grid"
        _plot(args, lambda: plot_decision_boundary(net, X_test, y_test, mode=mode), plot, "")
    if history.interrupted:
        raise Interrupted(
            f"after {history.epochs} of {config.epochs} epochs: the accuracies printed are "
            "those of the network as it was then"
        )
    return 0


def _mean_std(values) -> str:
    """``mean ± std`` with the sample standard deviation (ddof=1), as ``experiment`` prints;
    one value has none."""
    if len(values) < 2:
        return f"{values.mean():.4f} ± n/a"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def _save_model(args, net, config, history, path: Path, source) -> None:
    """The trained model, with what it was trained on and how (the data's preprocessing
    too), for ``predict`` and ``inspect``."""
    from nnscratch.io.model import save

    training = {"data": args.data, "seed": args.seed, "config": config.to_dict()}
    # fmt: off
    _save("--save", path, lambda p: save(net, p, classes=source.classes, history=history,
                                         training=training, extra=source.header()))
    # fmt: on


def _save(what: str, path: Path, write) -> None:
    """``write(path)``, a failure to write (a full disk, say) told as one, naming ``what``."""
    try:
        write(path)
    except OSError as error:
        reason = error.strerror or error
        raise RunFailure(f"{what}: could not write {str(path)!r}: {reason}") from error


def _plot(args, figure, path: Path, kept: str) -> None:
    """Draw ``figure()`` and save it to ``path``; a failure says what was kept (``kept``)."""
    from nnscratch.plots import save_figure

    try:
        save_figure(figure(), path)
    except Exception as error:  # the plot is drawn last: what came before stays
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise RunFailure(
            f"--plot: could not draw or save {str(path)!r} ({reason}){kept}"
        ) from error
    if not args.json:
        print(f"plot: {path}")


def _report_records(args, records, out: Path | None, vary=None) -> None:
    """Save the records (first: nothing that trained is lost to what follows), then print."""
    from nnscratch.experiments import format_summary, save_records, summarize

    if out is not None and out.suffix.lower() != ".jsonl":  # a journal is written already
        _save("--out", out, lambda path: save_records(records, path))
    summary = summarize(records)
    if args.json:
        _print_json({"records": [r.to_dict() for r in records], "summary": summary})
        return
    print(format_summary(summary, vary))
    seconds = sum(r.seconds for r in records)
    print(f"{len(records)} trials in {seconds:.2f} s")
    if out is not None:
        print(f"records: {out}")


@contextmanager
def _backend(args):
    """joblib's backend for ``--backend``, around the run; yields the runner's keywords.

    ``dask`` connects to ``--scheduler`` (refused within seconds when nothing answers) or
    starts a local cluster, says where its dashboard is, and closes what it started.
    """
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError(f"--scheduler: expected --backend dask, got --backend {args.backend}")
    if args.n_jobs is not None and args.backend == "local":
        raise UsageError(
            "--n-jobs: expected --backend processes or dask (local trains in this process), "
            f"got --n-jobs {args.n_jobs} with --backend local"
        )
    where = {
        "chunk_size": args.chunk_size,
        "journal": args.out if args.out and args.out.lower().endswith(".jsonl") else None,
    }
    if args.backend == "local":
        yield {**where, "n_jobs": 1}
        return
    import joblib

    if args.backend == "processes":
        with (
            joblib.parallel_config(backend="loky", n_jobs=args.n_jobs or -1),
            warnings.catch_warnings(),
        ):
            # joblib warns of the tasks it cancels when Ctrl-C stops the run: said in one line
            warnings.filterwarnings("ignore", message=".*tasks which were still being processed")
            yield where
        return
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--backend dask: expected the dask and distributed packages (pip install "
            "'nnscratch[dask]'), got neither installed"
        ) from None
    with _dask_client(distributed, args) as client:
        _say(args, f"dask: scheduler {client.scheduler.address}, dashboard {client.dashboard_link}")
        # workers that Ctrl-C stops log their ends: the run says what happened in one line
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        with joblib.parallel_config(backend="dask"):
            yield where


@contextmanager
def _dask_client(distributed, args):
    if args.scheduler is None:
        import dask

        # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_ set (and sets it in the
        # process that starts them), which turns off glibc's adaptive mmap threshold: every
        # large NumPy temporary is then mapped and unmapped afresh, and training ran 2-5x
        # slower on a worker than in a process. These workers start without it.
        trim = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        try:
            with dask.config.set(
                {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
            ):
                cluster = distributed.LocalCluster(
                    n_workers=args.n_jobs or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                )
        finally:
            if trim is not None:
                os.environ["MALLOC_TRIM_THRESHOLD_"] = trim
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(args.scheduler, timeout="5s")
    except Exception as error:  # refused, timed out, or something else answered
        raise UsageError(
            f"--scheduler: expected a Dask scheduler that answers, got {args.scheduler!r} "
            f"({_one_line(error)})"
        ) from None
    with client:
        yield client


@contextmanager
def _kept_on_failure(args, out: Path | None, vary):
    """Populations that kept failing on their workers: the others' records are saved and
    printed first, then the failure is one line naming the configurations (exit 1)."""
    from nnscratch.experiments.runner import PopulationFailed

    try:
        yield
    except PopulationFailed as failed:
        _report_records(args, failed.records, out, vary)
        raise RunFailure(f"{failed}{_kept(out)}") from None


def _kept(out: Path | None) -> str:
    """Where the records are, for a message about what came after them."""
    if out is not None and out.suffix.lower() == ".jsonl":
        return (
            f"; {str(out)!r} holds the trials that finished, and the same command run again "
            "trains the rest"
        )
    return f"; the records are saved in {str(out)!r}" if out else "; the records are printed"


def _stop_if_interrupted(records, out: Path | None) -> None:
    from nnscratch.experiments import format_progress
    from nnscratch.experiments.runner import Interrupted

    progress = format_progress(records)
    if progress is not None:
        raise Interrupted(f"with {progress}{_kept(out)}")


def cmd_experiment(args) -> int:
    from nnscratch.experiments import repeat

    out = _output_path(args.out, "--out", RECORD_SUFFIXES)
    config = _config(args, hidden=args.hidden, lr=args.lr, batch_size=args.batch_size)
    data = _source(args, classes_only=True).split
    with _backend(args) as where, _kept_on_failure(args, out, ["hidden"]):
        records = repeat(
            config, trials=args.trials, data=data, seed=args.seed, quiet=args.quiet, **where
        )
    _report_records(args, records, out, vary=["hidden"])
    _stop_if_interrupted(records, out)
    return 0


_AXIS_LABELS = {"hidden": "number of neurons", "lr": "learning rate", "batch_size": "batch size"}


def _sweep_figure(records, axis: str):
    """Mean test accuracy against the swept option; configurations without a result marked."""
    from nnscratch.experiments import summarize
    from nnscratch.plots import plot_summary

    summary = summarize(records)
    for row in summary:  # the swept value alone (hidden: the width of every layer)
        value = row["config"][axis]
        row["config"] = {axis: value[0] if axis == "hidden" else value}
    return plot_summary(
        summary,
        field=axis,
        xlabel=_AXIS_LABELS[axis],
        ylabel="test accuracy",
        xscale="log" if axis == "lr" else "linear",
    )


def cmd_sweep(args) -> int:
    from nnscratch.experiments import check_trial_count, sweep

    out = _output_path(args.out, "--out", RECORD_SUFFIXES)
    plot = _output_path(args.plot, "--plot", PLOT_SUFFIXES)
    options = {"hidden": args.hidden, "lr": args.lr, "batch_size": args.batch_size}
    axes = [name for name, values in options.items() if len(values) > 1]
    if plot is not None and len(axes) > 1:
        raise UsageError(
            f"--plot: expected one swept option (a single line), got {len(axes)}: {', '.join(axes)}"
        )
    # counted before the grid is built: --hidden 1:1000000 --layers 1000 would take long
    check_trial_count(math.prod(len(v) for v in options.values()), args.trials, "--trials")
    grid = {**options, "hidden": [(w,) * args.layers for w in args.hidden]}
    base = _config(args)
    data = _source(args, classes_only=True).split
    with _backend(args) as where, _kept_on_failure(args, out, axes or ["hidden"]):
        records = sweep(
            grid,
            trials=args.trials,
            base=base,
            data=data,
            seed=args.seed,
            quiet=args.quiet,
            **where,
        )
    _report_records(args, records, out, vary=axes or ["hidden"])
    if plot is not None:
        _plot(args, lambda: _sweep_figure(records, axes[0] if axes else "hidden"), plot, _kept(out))
    _stop_if_interrupted(records, out)
    return 0


def _model_file(path: str) -> Path:
    """A model file to read: it must exist (the loader checks the rest)."""
    if not Path(path).is_file():
        raise UsageError(f"MODEL: expected a model file (.npz), got {path!r}, which is not a file")
    return Path(path)


def cmd_predict(args) -> int:
    import numpy as np

    from nnscratch.data import Preprocessor
    from nnscratch.data.source import is_builtin, rows_for
    from nnscratch.experiments.runner import load_data
    from nnscratch.io.atomic import atomic_open
    from nnscratch.io.model import load, read_header
    from nnscratch.io.predict import prediction_columns, write_csv

    path = _model_file(args.model)
    output = _output_path(args.output, "--output", (".csv",))
    header = read_header(path)
    data = args.data or (header.get("training") or {}).get("data")
    if data is None:
        raise UsageError("DATA: expected a data set or a file (the model file names neither)")
    if args.data is None and not is_builtin(data) and not Path(data).is_file():
        raise UsageError(
            f"DATA: expected a data file, got {data!r}, the model's training file, which is "
            "not there now; name the data to predict on"
        )
    model = load(path)
    if is_builtin(data):  # its test (or train) split, prepared as in training
        X_train, X_test, _, _ = load_data(data)
        X = X_test if args.split == "test" else X_train
        if header.get("preprocessing") is not None:
            X = Preprocessor.from_header(header["preprocessing"]).transform(X)
        rows = f"{data} {args.split}"
    else:  # every row of the file, its columns by name, prepared as in training
        X = rows_for(data, header)
        rows = data
    n_features = header["network"]["sizes"][0]
    if X.shape[1] != n_features:
        raise UsageError(
            f"DATA: expected a data set with {n_features} features (the model's inputs), got "
            f"{data!r} with {X.shape[1]}"
        )
    with np.errstate(all="ignore"):  # an overflow is told once, below, not as warnings
        columns = prediction_columns(
            model, X, classes=header.get("classes"), member=args.member, mean=args.mean
        )
    broken = [name for name, col in columns.items() if col.dtype.kind == "f"]
    broken = [name for name in broken if not np.isfinite(columns[name]).all()]
    if broken:
        raise RunFailure(
            f"the model's {', '.join(broken[:3])} are not finite on these rows (its weights "
            "overflow on them); nothing was written"
        )
    if output is None:
        write_csv(columns, sys.stdout)
        return 0
    with atomic_open(output, "w", newline="") as fh:
        write_csv(columns, fh)
    print(f"predictions: {output} ({len(X)} rows of {rows})", file=sys.stderr)
    return 0


def cmd_inspect(args) -> int:
    from nnscratch.io.model import describe_header, load, read_header

    path = _model_file(args.model)
    load(path)  # every array against the header and its SHA-256, before anything is said
    header = read_header(path)
    if args.json:
        print(json.dumps(header, indent=1, sort_keys=True))
    else:
        print(f"{path}: every array matches its SHA-256")
        print(describe_header(header))
    return 0


def cmd_export(args) -> int:
    from nnscratch.io.model import load, read_header

    path = _model_file(args.model)
    output = _output_path(args.output, "OUT", (".onnx",))
    try:
        from nnscratch.io.onnx import export_onnx
    except ImportError as missing:
        raise RunFailure(
            f"export needs the onnx package ({missing}): pip install 'nnscratch[onnx]'"
        ) from None
    model = load(path)  # every check of the file first
    header = read_header(path)  # its preprocessing goes into the graph: raw rows in
    P = getattr(model, "population", None)
    if P is not None and P > 1 and args.member is None:  # an estimator decides for itself
        raise UsageError(
            f"--member: expected a member (0..{P - 1}) to export from a population of {P}, got none"
        )
    export_onnx(model, output, member=args.member, preprocessing=header.get("preprocessing"))
    print(f"onnx: {output}")
    return 0


def cmd_warmup(args) -> int:
    from nnscratch.fast.warmup import warmup

    activations = args.activation or ["relu"]
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    try:
        rows = warmup("all" if "all" in activations else activations, dtypes, args.hidden_layers)
    except ValueError as error:  # the library's names, as the options that carry them
        message = str(error)
        for name, option in (("activations", "--activation"), ("hidden_layers", "--hidden-layers")):
            message = (
                message.replace(f"{name}:", f"{option}:", 1)
                if message.startswith(name)
                else message
            )
        raise UsageError(message) from None
    compiled = [r for r in rows if r["state"] == "cold"]
    seconds = sum(r["seconds"] for r in compiled)
    print(f"{len(rows)} kernels ready: {len(compiled)} compiled now ({seconds:.1f} s)")
    return 0


def cmd_playground(args) -> int:
    from nnscratch.playground import make_server, serve

    try:  # the address first: a port in use is bad input, said before anything is served
        server = make_server(args.host, args.port)
    except OSError as error:
        raise UsageError(
            f"--port: expected a free port on {args.host}, got {args.port} "
            f"({error.strerror or error})"
        ) from None
    serve(args.host, args.port, open_browser=not args.no_browser, server=server)
    return 0  # Ctrl-C is how a server stops: not an interrupted run


COMMANDS = {
    "reproduce": cmd_reproduce,
    "train": cmd_train,
    "experiment": cmd_experiment,
    "sweep": cmd_sweep,
    "predict": cmd_predict,
    "inspect": cmd_inspect,
    "export": cmd_export,
    "playground": cmd_playground,
    "warmup": cmd_warmup,
}


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0 success, 2 bad input, 1 a failure
    while running, 130 Ctrl-C. Each error is one line on stderr, never a traceback."""
    prog = "nnscratch"
    try:  # everything, the imports of each command too: Ctrl-C may come at any moment
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error already printed
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
        prog = f"nnscratch {args.command}"
        return COMMANDS[args.command](args)
    except KeyboardInterrupt as stop:  # after what the command kept, if it says
        return _report(prog, "interrupted" + (f" {_one_line(stop)}" if str(stop) else ""))
    except ValueError as error:  # bad input found by the library, before any work
        return _report(prog, f"error: {_one_line(error)}", BAD_INPUT)
    except BrokenPipeError:  # stdout closed early (| head): nothing left to say there
        _drop_stdout()
        return _report(prog, "error: the output was closed before it was all written", FAILED)
    except OSError as error:  # a file that could not be read or written after all
        where = f": {error.filename}" if error.filename else ""
        return _report(prog, f"error: {error.strerror or error}{where}", FAILED)
    except RunFailure as error:
        return _report(prog, f"error: {_one_line(error)}", FAILED)
    except Exception as error:  # anything else that failed while running: say what it was
        return _report(prog, f"error: {type(error).__name__}: {_one_line(error)}", FAILED)


def _report(prog: str, message: str, status: int = INTERRUPTED) -> int:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    return status


def _drop_stdout() -> None:
    """Point stdout at the null device, so the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):  # no real stdout (captured, in tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
