"""Experiments: repeated trials, hyperparameter sweeps, their records and statistics.

``repeat(config, trials=N)`` trains N independent trials of one configuration as ONE
population; ``sweep(grid, trials=N)`` trains every grid point N times, one population per
group of compatible configurations. Both return one :class:`TrialRecord` per trial;
:func:`summarize` gives mean, sample standard deviation and a Student-t confidence interval
per configuration. Ctrl-C stops a run after the current batch; the records say which trials
it cut short (``interrupted``), and :func:`summarize` counts those apart.
"""

from nnscratch.experiments.config import (
    MAX_LAYERS,
    MAX_TRIALS,
    VECTORISED,
    Config,
    as_config,
    check_trial_count,
    expand_grid,
    grid_size,
    group_configs,
    group_key,
)
from nnscratch.experiments.records import (
    METRICS,
    TrialRecord,
    format_progress,
    format_summary,
    load_records,
    records_from_csv,
    records_from_json,
    records_to_csv,
    records_to_json,
    save_records,
    summarize,
)
from nnscratch.experiments.runner import (
    Interrupted,
    load_data,
    repeat,
    run_trial,
    sweep,
    train_population,
)
from nnscratch.experiments.stats import betainc, describe, t_cdf, t_quantile

__all__ = [
    "MAX_LAYERS",
    "MAX_TRIALS",
    "METRICS",
    "VECTORISED",
    "Config",
    "Interrupted",
    "TrialRecord",
    "as_config",
    "betainc",
    "check_trial_count",
    "describe",
    "expand_grid",
    "format_progress",
    "format_summary",
    "grid_size",
    "group_configs",
    "group_key",
    "load_data",
    "load_records",
    "records_from_csv",
    "records_from_json",
    "records_to_csv",
    "records_to_json",
    "repeat",
    "run_trial",
    "save_records",
    "summarize",
    "sweep",
    "t_cdf",
    "t_quantile",
    "train_population",
]
