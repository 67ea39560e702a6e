"""Summary statistics for repeated trials: mean, sample standard deviation, intervals.

One convention everywhere: a standard deviation is the sample one (``ddof=1``). An
interval of a mean accuracy (bounded to ``[0, 1]``) is the percentile bootstrap over the
trials (:func:`bootstrap_interval`), which stays in the metric's range; an unbounded
metric (a loss) gets Student's t (:func:`describe`).

No SciPy: the t distribution's CDF comes from the regularised incomplete beta function,
evaluated by its continued fraction (Abramowitz & Stegun 26.5.8; Press et al., *Numerical
Recipes*, sec. 6.4), and the quantile by bisection on that CDF.

For ``T ~ t(nu)`` and ``t >= 0`` (A&S 26.7.1 with 26.5.27)::

    P(T > t) = I_x(nu / 2, 1 / 2) / 2,   x = nu / (nu + t^2)

The two-sided ``confidence`` interval for a mean of ``n`` values is
``mean +- t_{(1 + confidence) / 2, n - 1} * s / sqrt(n)``, with ``s`` the sample standard
deviation (``ddof=1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nnscratch.core.checks import check_positive, check_range

_EPS = 1e-16
_TINY = 1e-300


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of ``I_x(a, b)`` (A&S 26.5.8), by the modified Lentz method.

    ``1 / (1 + d1 / (1 + d2 / (1 + ...)))`` with
    ``d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))`` and
    ``d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))``.
    Converges fast for ``x < (a + 1) / (a + b + 2)``.
    """
    f, c, d = _TINY, _TINY, 0.0
    for j in range(1, 10_000):
        if j == 1:
            numerator = 1.0
        else:
            k = j - 1  # index of d_k
            m = k // 2
            if k % 2:  # odd: d_{2m+1}
                numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            else:  # even: d_{2m}
                numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + numerator * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + numerator / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = c * d
        f *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return f


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)`` for ``a, b > 0``, ``0 <= x <= 1``."""
    if not (a > 0 and b > 0 and 0.0 <= x <= 1.0):
        raise ValueError(f"betainc: expected a > 0, b > 0, 0 <= x <= 1, got {a}, {b}, {x}")
    return _betainc(a, b, x, 1.0 - x)


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """``I_x(a, b)`` given both ``x`` and ``y = 1 - x`` (each accurate, as the caller knows it)."""
    if x == 0.0 or y == 0.0:
        return 0.0 if x == 0.0 else 1.0
    log_front = (
        a * math.log(x) + b * math.log(y) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(x, a, b) / a
    # symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps the fraction in its fast region
    return 1.0 - front * _beta_continued_fraction(y, b, a) / b


def t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df > 0`` degrees of freedom (any real ``df``)."""
    df = float(check_positive("df", df))
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    # x = df / (df + t^2) and 1 - x = t^2 / (df + t^2), each without cancellation
    upper = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t))  # P(T > |t|)
    return 1.0 - upper if t >= 0 else upper


def t_quantile(q: float, df: float) -> float:
    """The ``q``-quantile of Student's t with ``df`` degrees of freedom: ``t`` with CDF ``q``.

    Found by bisection on :func:`t_cdf` to full double precision, e.g.
    ``t_quantile(0.975, 9) = 2.262157...``.
    """
    q = float(check_range("q", q, low=0.0, high=1.0, low_open=True, high_open=True))
    df = float(check_positive("df", df))
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:  # bracket the root: the CDF is increasing
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):  # adjacent doubles: as precise as it gets
            break
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def describe(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """``n, mean, std, sem, ci_low, ci_high, min, max`` of a sample.

    ``std`` is the sample standard deviation (``ddof=1``), ``sem = std / sqrt(n)``, and the
    interval is Student's t: ``mean +- t_{(1 + confidence) / 2, n - 1} * sem``. With fewer
    than two values the spread and the interval are NaN (undefined), and with none every
    statistic but ``n`` is NaN.
    """
    confidence = float(
        check_range("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    )
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    n = int(x.size)
    nan = float("nan")
    out = {
        "n": n,
        "mean": nan,
        "std": nan,
        "sem": nan,
        "ci_low": nan,
        "ci_high": nan,
        "min": nan,
        "max": nan,
    }
    if n == 0:
        return out
    mean = float(x.mean())
    out.update(mean=mean, min=float(x.min()), max=float(x.max()))
    if n >= 2:
        std = float(x.std(ddof=1))
        sem = std / math.sqrt(n)
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * sem
        out.update(std=std, sem=sem, ci_low=mean - half, ci_high=mean + half)
    return out


#: Resamples drawn by :func:`bootstrap_interval` (Monte Carlo error of a 2.5% percentile
#: about sqrt(0.025 * 0.975 / 10_000) = 0.0016 in probability, far below the trial spread).
BOOTSTRAP_RESAMPLES = 10_000


def bootstrap_interval(
    values: Sequence[float] | np.ndarray, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over trials (Efron & Tibshirani, *An
    Introduction to the Bootstrap*, 1993, sec. 13.3).

    Draw ``B = BOOTSTRAP_RESAMPLES`` resamples of the ``n`` values with replacement (a
    seeded ``numpy.random.Generator``), take each resample's mean, and return the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of those means. Every
    resample mean lies in ``[min, max]`` of the values, so the interval never leaves the
    metric's range (a Student-t interval on 2 or 3 accuracies can reach past 1). With all
    values equal it is ``[v, v]``; with ``n = 2`` values ``a < b`` the resample means are
    ``a, (a + b) / 2, b`` with probabilities ``1/4, 1/2, 1/4``, so the 95% interval is
    ``[a, b]``. Fewer than two values: ``(nan, nan)`` (no interval from one trial).
    """
    confidence = float(
        check_range("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    )
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(BOOTSTRAP_RESAMPLES, x.size))].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    # the percentiles are means of the data, already inside [min, max]; the clip only
    # removes rounding of the mean of equal values
    low, high = np.clip([low, high], x.min(), x.max())  # monotone: the order stays
    return float(low), float(high)
