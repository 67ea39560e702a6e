"""The percentile bootstrap interval over trials, on cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nnscratch.experiments.stats import bootstrap_interval


def test_one_trial_has_no_interval():
    low, high = bootstrap_interval([0.9])
    assert math.isnan(low) and math.isnan(high)


def test_all_equal_is_a_point():
    assert bootstrap_interval([0.93, 0.93, 0.93]) == (0.93, 0.93)


def test_two_trials_span_both_values():
    # resample means a, (a+b)/2, b with probabilities 1/4, 1/2, 1/4: 2.5% -> a, 97.5% -> b
    assert bootstrap_interval([0.8, 1.0]) == (0.8, 1.0)


def test_hand_worked_three_values():
    # n=3, values 0, 0, 1: resample mean k/3 with k ~ Binomial(3, 1/3):
    # P(0) = 8/27 = 0.296, P(1/3) = 12/27, P(2/3) = 6/27, P(1) = 1/27 = 0.037
    # so the 2.5% percentile is 0 and the 97.5% percentile is 1 (the upper 3.7% tail is 1)
    assert bootstrap_interval([0.0, 0.0, 1.0]) == (0.0, 1.0)
    # an 80% interval: 10% -> 0, 90% -> 2/3 (P(<= 1/3) = 20/27 = 0.74 < 0.9 <= 26/27)
    low, high = bootstrap_interval([0.0, 0.0, 1.0], confidence=0.8)
    assert low == 0.0 and high == pytest.approx(2 / 3)


def test_seeded_and_refuses_bad_confidence():
    x = [0.91, 0.95, 0.97, 0.93]
    assert bootstrap_interval(x, seed=3) == bootstrap_interval(x, seed=3)
    with pytest.raises(ValueError, match="^confidence:"):
        bootstrap_interval(x, confidence=1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8))
@example([0.9516689659284159] * 3)  # the mean of equal values rounds below them
def test_inside_the_range_of_the_values(values):
    low, high = bootstrap_interval(values)
    assert min(values) <= low <= high <= max(values)
    assert 0.0 <= low and high <= 1.0 and np.isfinite([low, high]).all()
