"""Files: atomic writes (:mod:`nnscratch.io.atomic`) and weight files (:mod:`nnscratch.io.weights`).

Everything nnscratch writes (reports, records, plots, logs, weights) goes through
:mod:`nnscratch.io.atomic`, so a reader never sees a half-written file.
"""

from nnscratch.io.weights import load_weights, save_weights

__all__ = ["load_weights", "save_weights"]
