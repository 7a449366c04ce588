"""Properties of generated histograms and frames (hypothesis): identities and invariances."""

import math

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import kldrift
from kldrift import Options, metrics

# Modest example counts and no deadline keep the whole suite well under its time budget.
FAST = settings(max_examples=60, deadline=None)
FRAMES = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

counts = st.integers(min_value=0, max_value=1000)
smoothing = st.sampled_from([0.5, 1.0, 0.01])
base = st.sampled_from([math.e, 2.0, 10.0])


@st.composite
def histogram_pairs(draw):
    size = draw(st.integers(min_value=1, max_value=12))
    ref = draw(st.lists(counts, min_size=size, max_size=size).filter(any))
    cur = draw(st.lists(counts, min_size=size, max_size=size).filter(any))
    return ref, cur


@FAST
@given(histogram_pairs(), smoothing, base)
def test_kl_is_non_negative_and_cross_entropy_is_entropy_plus_kl(pair, alpha, b):
    scores = metrics.divergences(*pair, smoothing=alpha, base=b)
    assert scores.kl >= 0
    assert scores.cross_entropy == pytest.approx(scores.entropy + scores.kl, abs=1e-9)


@FAST
@given(histogram_pairs(), smoothing, st.integers(min_value=1, max_value=50))
def test_kl_of_proportional_histograms_is_zero(pair, alpha, factor):
    ref, _ = pair
    assert metrics.kl_divergence(ref, ref, smoothing=alpha) == pytest.approx(0.0, abs=1e-12)
    # Unsmoothed, scaling a histogram does not change its distribution.
    scaled = [c * factor for c in ref]
    assert metrics.kl_divergence(ref, scaled) == pytest.approx(0.0, abs=1e-9)


numbers = st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.just(math.nan), st.none())
labels = st.sampled_from(["a", "b", "c", "d", "é", "long " * 20, None])


@st.composite
def frames(draw, min_rows=1):
    rows = draw(st.integers(min_value=min_rows, max_value=60))
    x = draw(st.lists(numbers, min_size=rows, max_size=rows))
    n = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=rows, max_size=rows))
    s = draw(st.lists(labels, min_size=rows, max_size=rows))
    return pl.DataFrame(
        {"x": x, "n": n, "s": s}, schema={"x": pl.Float64, "n": pl.Int64, "s": pl.String}
    )


OPTIONS = Options(bins=4, top_k=3, discrete_max=4)


@FRAMES
@given(frames(), frames())
def test_histograms_count_every_row_and_identical_frames_score_zero(reference, current):
    report = kldrift.compare(reference, current, options=OPTIONS)
    for column in report.columns:
        assert sum(column.reference_counts) == reference.height
        assert sum(column.current_counts) == current.height
        assert column.kl >= 0
    assert {c.kl for c in kldrift.compare(reference, reference, options=OPTIONS).columns} == {0.0}


@FRAMES
@given(frames(), frames(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(reference, current, rng):
    def shuffled(frame):
        order = list(range(frame.height))
        rng.shuffle(order)
        return frame[order]

    before = kldrift.compare(reference, current, options=OPTIONS)
    after = kldrift.compare(shuffled(reference), shuffled(current), options=OPTIONS)
    assert before.columns == after.columns


@FRAMES
@given(frames(min_rows=2), frames(min_rows=2))
def test_csv_and_parquet_of_the_same_frames_give_the_same_result(tmp_path, reference, current):
    # CSV has no NaN/null distinction and no empty string; both land in "(null)" either way.
    reference, current = (f.with_columns(pl.col("x").fill_nan(None)) for f in (reference, current))
    # An all-null column has no type in CSV (it reads back as text): a real CSV limitation.
    assume(all(f[c].null_count() < f.height for f in (reference, current) for c in f.columns))
    for name, frame in [("r", reference), ("c", current)]:
        frame.write_csv(tmp_path / f"{name}.csv")
        frame.write_parquet(tmp_path / f"{name}.parquet")
    csv = kldrift.compare(tmp_path / "r.csv", tmp_path / "c.csv", options=OPTIONS)
    parquet = kldrift.compare(tmp_path / "r.parquet", tmp_path / "c.parquet", options=OPTIONS)
    assert _scores(csv) == _scores(parquet)


def _scores(report):
    return {c.name: (c.kl, c.reference_counts, c.current_counts) for c in report.columns}
