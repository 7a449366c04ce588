"""Write the sample reference/current pair (CSV and Parquet) with a fixed seed.

Drifted on purpose in current: `income` (mean shift), `country` (a new category takes 15%)
and `latency_ms` (null rate 2% -> 25%). Every other column is drawn from the same distribution,
but one relationship changes: `order_value` and `discount_pct` keep their distributions while
their correlation goes from 0.7 (larger orders get larger discounts) to 0 (say, a join on the
wrong key), which only `--pairs` sees. They are drawn from a generator of their own, so the
other columns are the same as before they were added.

Run: python sample_data/make_sample.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261122
HERE = Path(__file__).parent
COUNTRIES = ["US", "DE", "FR", "GB", "IN", "BR"]
COUNTRY_SHARES = [0.35, 0.2, 0.15, 0.12, 0.1, 0.08]


def make(rng: np.random.Generator, rows: int, *, drifted: bool) -> pl.DataFrame:
    """One side of the pair; `drifted` applies the three documented shifts."""
    countries = COUNTRIES + ["JP"] if drifted else COUNTRIES
    shares = np.array(COUNTRY_SHARES + [0.15]) if drifted else np.array(COUNTRY_SHARES)
    latency = rng.gamma(shape=2.0, scale=40.0, size=rows).round(1)
    latency_nulls = rng.random(rows) < (0.25 if drifted else 0.02)
    start = dt.date(2024, 1, 1)
    return pl.DataFrame(
        {
            "customer_age": np.clip(rng.normal(40, 12, rows), 18, 90).astype(np.int64),
            "income": rng.lognormal(10.9 if drifted else 10.5, 0.5, rows).round(2),
            "session_minutes": rng.exponential(12.0, rows).round(2),
            "score": rng.normal(0.0, 1.0, rows).round(4),
            "country": rng.choice(countries, rows, p=shares / shares.sum()),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
            "is_mobile": rng.random(rows) < 0.55,
            "items_in_cart": rng.poisson(2.0, rows),
            "signup_date": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 366, rows)],
            "latency_ms": pl.Series(latency).scatter(np.flatnonzero(latency_nulls), None),
        }
    )


def related(rng: np.random.Generator, rows: int, *, drifted: bool) -> pl.DataFrame:
    """The pair whose relationship changes: a Gaussian copula, correlation 0.7 -> 0."""
    rho = 0.0 if drifted else 0.7
    z = rng.standard_normal((rows, 2))
    w = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
    return pl.DataFrame(
        {
            "order_value": np.exp(3.5 + 0.6 * z[:, 0]).round(2),
            "discount_pct": np.clip(np.round(10 + 4 * w), 0, 25).astype(np.int64),
        }
    )


def main() -> None:
    rng = np.random.default_rng(SEED)
    pair_rng = np.random.default_rng([SEED, 17])
    for name, rows, drifted in [("reference", 4000, False), ("current", 3000, True)]:
        frame = pl.concat(
            [make(rng, rows, drifted=drifted), related(pair_rng, rows, drifted=drifted)],
            how="horizontal",
        )
        frame.write_csv(HERE / f"{name}.csv")
        frame.write_parquet(HERE / f"{name}.parquet")


if __name__ == "__main__":
    main()
