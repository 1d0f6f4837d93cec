"""Statistics on constructed series whose right answer is known."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dsbench.measure import stats, stopping
from dsbench.render.format import format_interval

# Epoch times measured on the 2-core machine (docs/benchmarks.md): two speeds, 1.6-1.75x apart.
TWO_SPEEDS = [2.88, 2.77, 2.73, 2.83, 5.06, 4.9]


def test_spread_gives_median_range_and_cv() -> None:
    spread = stats.Spread.of([1.0, 2.0, 3.0, math.nan])
    assert (spread.median, spread.low, spread.high, spread.n) == (2.0, 1.0, 3.0, 3)
    assert spread.cv == pytest.approx(0.5)
    assert stats.Spread.of([]).n == 0


def test_median_interval_is_seeded_and_covers_the_median() -> None:
    values = [0.30, 0.32, 0.29, 0.31, 0.33, 0.30, 0.31]
    first, again = stats.median_interval(values), stats.median_interval(values)
    assert first == again  # deterministic for the same data
    assert first.median == pytest.approx(0.31)
    assert 0.29 <= first.low <= first.median <= first.high <= 0.33
    assert first.half_width < 0.05


def test_few_values_get_students_t_on_their_logs() -> None:
    # logs -1, 0, 1: mean 0, sd 1, n 3 -> exp(±t(0.975, 2) / sqrt(3)), t(0.975, 2) = 4.3027
    interval = stats.median_interval([math.exp(-1), 1.0, math.exp(1)])
    half = 4.302653 / math.sqrt(3)
    assert (interval.low, interval.high) == (
        pytest.approx(math.exp(-half), rel=1e-5),
        pytest.approx(math.exp(half), rel=1e-5),
    )


def test_four_paired_epochs_get_an_interval_beyond_their_extremes() -> None:
    # A bootstrap of 4 values never reaches past the smallest and largest, which hold the true
    # median with 87.5% probability only: a 95% interval has to be wider than that.
    values = [0.280, 0.290, 0.285, 0.294]
    interval = stats.median_interval(values)
    assert interval.low < min(values) and interval.high > max(values)
    assert interval.low <= interval.median <= interval.high


def test_two_values_give_a_median_but_no_interval() -> None:
    interval = stats.median_interval([0.23, 0.50])
    assert interval.median == pytest.approx(0.365) and math.isnan(interval.low)
    assert stats.interval_warning("time", interval) == [
        "time: 2 paired epochs: ratio not resolved (use --epochs 4 or more)"
    ]


def test_a_wide_interval_is_flagged_and_a_tight_one_is_not() -> None:
    wide = stats.median_interval([0.2, 0.5, 0.25, 0.45, 0.3])
    assert wide.half_width > 0.15
    assert "wider than ±15%" in stats.interval_warning("time", wide)[0]
    tight = stats.median_interval([0.30, 0.31, 0.30, 0.31, 0.30])
    assert stats.interval_warning("time", tight) == []


def test_paired_ratios_skip_missing_epochs() -> None:
    ratios = stats.paired_ratios([1.0, 2.0, math.nan, 3.0], [2.0, 4.0, 1.0, 0.0])
    np.testing.assert_allclose(ratios, [0.5, 0.5])


def test_paired_ratios_cancel_a_machine_that_changes_speed() -> None:
    # Both models slow down together in the slow mode: their times swing 1.75x, the ratio not.
    normal = np.array(TWO_SPEEDS) * 3
    separable = np.array(TWO_SPEEDS)
    interval = stats.median_interval(stats.paired_ratios(separable, normal))
    assert interval.median == pytest.approx(1 / 3) and interval.half_width < 1e-9


def test_bimodal_series_are_recognised() -> None:
    assert stats.bimodal(TWO_SPEEDS)
    assert not stats.bimodal([2.8, 2.85, 2.79, 2.9, 2.83])
    assert not stats.bimodal([1.0, 2.0, 3.0, 4.0, 5.0])  # spread, but no two clusters
    assert not stats.bimodal([2.8, 5.0])  # too few to say


def test_timing_warnings_on_constructed_histories() -> None:
    two_epochs = stats.timing_warnings("normal", 3.0, [2.0])
    assert two_epochs == []  # too few steady epochs: said once for the run (comparison.warnings)
    bimodal = stats.timing_warnings("separable", 2.5, TWO_SPEEDS)
    assert len(bimodal) == 2 and "bimodal" in bimodal[0] and "faster than the steady" in bimodal[1]
    noisy = stats.timing_warnings("normal", 4.0, [2.0, 2.6, 2.2, 1.9])
    assert noisy == ["normal: steady epoch times vary by 14% (CV over 10%)"]
    assert stats.timing_warnings("normal", 4.0, [2.0, 2.02, 1.98]) == []


def test_load_warnings() -> None:
    assert stats.load_warning(0.2, 2.1, cores=2) == []
    assert stats.load_warning(1.5, 2.0, cores=2) == []  # the last run's tail, not other work
    assert "at the start" in stats.load_warning(2.5, 2.0, cores=2)[0]
    assert "above the 2 cores" in stats.load_warning(0.1, 3.5, cores=2)[0]


@pytest.mark.parametrize(
    ("median", "low", "high", "text"),
    [
        (0.36123, 0.30, 0.42, "0.36x [0.30, 0.42]"),  # ±17%: two digits
        (0.36123, 0.355, 0.367, "0.361x [0.355, 0.367]"),  # ±1.7%: three
        (0.36123, 0.3611, 0.3614, "0.3612x [0.3611, 0.3614]"),  # ±0.04%: four
        (2.5, math.nan, math.nan, "2.50x"),  # no interval: three
    ],
)
def test_digits_follow_the_interval(median: float, low: float, high: float, text: str) -> None:
    assert format_interval(stats.Interval(median, low, high, 5)) == text


def test_each_side_of_an_interval_must_be_within_the_target() -> None:
    # 0.250x [0.243, 0.268]: -2.8% and +7.2%, a mean half-width of 5.0% but not within ±5%
    assert not stats.within(stats.Interval(0.250, 0.243, 0.268, 6), 0.05)
    assert stats.within(stats.Interval(0.250, 0.240, 0.262, 6), 0.05)
    assert not stats.within(stats.Interval(0.250, math.nan, math.nan, 2), 0.05)


@pytest.mark.parametrize(
    ("name", "series"),
    [
        ("iid", lambda rng, n: 0.28 * np.exp(rng.normal(0, 0.12, n))),
        ("autocorrelated", lambda rng, n: 0.28 * np.exp(_ar1(rng, n, 0.4, 0.12))),
    ],
)
def test_the_bench_rule_holds_the_true_ratio_although_it_chooses_when_to_stop(
    name: str, series: Any
) -> None:
    """stopping.sequential_ratio on series whose true ratio is 0.28: its 95% interval holds it in
    at least 90% of 200 runs (the benchmark replays 2,000: docs/benchmarks.md), and in the
    runs that stopped earliest too, where a rule that stops on luck fails."""
    rng = np.random.default_rng(7)
    held, pairs = [], []
    for _ in range(200):
        values = iter(series(rng, 400))
        used, interval, reached = stopping.sequential_ratio(
            lambda values=values: float(next(values)), 0.05, lambda n: n >= 400
        )
        assert reached
        held.append(interval.low <= 0.28 <= interval.high)
        pairs.append(len(used))
    earliest = np.argsort(pairs, kind="stable")[:40]
    print(name, np.mean(held), np.mean(np.array(held)[earliest]))
    assert np.mean(held) >= 0.9 and np.mean(np.array(held)[earliest]) >= 0.85, name


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    logs = np.empty(n)
    logs[0] = rng.normal(0, sd)
    for i in range(1, n):
        logs[i] = phi * logs[i - 1] + rng.normal(0, sd * (1 - phi**2) ** 0.5)
    return logs


def test_a_first_epoch_a_little_faster_is_noise_not_a_change_of_speed() -> None:
    steady = [2.0, 2.1, 1.9, 2.0]
    assert stats.timing_warnings("normal", 1.9, steady) == []  # 5% faster: within the noise
    warned = stats.timing_warnings("normal", 1.5, steady)  # 25% faster although it also traced
    assert len(warned) == 1 and "25% faster than the steady state" in warned[0]


def test_paired_accuracy_difference_and_mcnemar() -> None:
    # 100 test images: 10 only the first model got right, 25 only the second
    difference, low, high = stats.paired_difference(10, 25, 100)
    assert difference == pytest.approx(0.15)
    # Bonett-Price: (26 - 11) / 102 ± 1.96 * sqrt((11 + 26) / 102 - (15 / 102)^2) / sqrt(102)
    assert (low, high) == pytest.approx((0.0337, 0.2604), abs=1e-4)
    assert stats.mcnemar_p(10, 25) == pytest.approx(0.01667, abs=1e-4)  # binomial, 35 trials
    assert stats.mcnemar_p(25, 10) == stats.mcnemar_p(10, 25)
    assert stats.mcnemar_p(0, 0) == 1.0
    same = stats.paired_difference(0, 0, 100)  # identical predictions: zero, but not certain
    assert same[0] == 0 and same[1] < 0 < same[2]
    assert all(math.isnan(v) for v in stats.paired_difference(0, 0, 0))


def test_tukey_outliers_are_counted_beyond_the_fences() -> None:
    # quartiles 2.0 and 2.2 (numpy's linear interpolation): fences 1.7 and 2.5
    assert stats.tukey_outliers([2.0, 2.1, 2.0, 2.2, 2.2, 2.6, 1.6, 2.1]) == 2
    assert stats.tukey_outliers([2.0, 2.1, 2.0, 2.2, 2.2, 2.4, 1.8, 2.1]) == 0
    assert stats.tukey_outliers([1.0, 9.0, 1.0]) == 0  # fewer than 4: no quartiles to speak of


def test_an_interval_is_centred_on_the_point_it_is_printed_beside() -> None:
    """The t part of a ratio interval is built around the median the table prints, not the
    geometric mean: with skewed values the two differ."""
    import math

    import numpy as np

    from dsbench.measure import stats

    values = np.array([0.30, 0.31, 0.30, 0.42, 0.55])  # skewed: geometric mean 0.366
    median = float(np.median(values))
    low, high = stats.t_interval_of_logs(values, around=median)
    assert math.log(high / median) == pytest.approx(math.log(median / low))
    interval = stats.median_interval(values)
    assert interval.median == median and interval.low <= low and interval.high >= high


def test_resolved_is_tested_on_each_side() -> None:
    from dsbench.measure import stats

    lopsided = stats.Interval(1.0, 0.95, 1.20, 6)  # -5%, +20%: the mean of the sides is 12.5%
    assert stats.Interval(1.0, 0.95, 1.20, 6).half_width == pytest.approx(0.20)
    assert not stats.within(lopsided, 0.15)


def test_the_quick_distribution_functions_equal_scipy_stats() -> None:
    # scipy.special's functions stand in for scipy.stats' (a second to import in every run)
    from scipy.stats import binomtest, t

    for n in (1, 2, 3, 8, 21, 55, 144):
        for b in range(n + 1):
            assert stats.mcnemar_p(b, n - b) == pytest.approx(
                binomtest(min(b, n - b), n, 0.5).pvalue, rel=1e-12
            )
    for df in (1, 1.5, 2, 3.7, 10, 250, math.inf):
        assert stats.t_quantile(df) == pytest.approx(t.ppf(0.975, df), rel=1e-12)
        for value in (-3.0, 0.0, 0.4, 2.1):
            assert stats.t_two_sided_p(value, df) == pytest.approx(2 * t.sf(abs(value), df))
    assert stats.t_quantile(0) == stats.t_quantile(1)  # fewer than one is taken as one
