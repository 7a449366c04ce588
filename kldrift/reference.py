"""The reference side: opening data or a profile, its fitted options, and profiling a dataset."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import polars as pl

from kldrift import profile, profile_file, remote
from kldrift.errors import InputError, OptionError
from kldrift.io import ReadOptions, Table, scan_table
from kldrift.options import ALL_PAIRS, Kind, Options, PairsSetting
from kldrift.pairs import with_pair_tables
from kldrift.plan import plan_columns

DataSource = str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame


#: A reference is data, a loaded Profile, or a path to a profile file (`*.json`).
ReferenceSource = DataSource | profile.Profile


def open_reference(
    reference: ReferenceSource, read_options: ReadOptions | None = None
) -> Table | profile.Profile:
    """A Table for reference data; the Profile itself for a profile or a profile file."""
    if isinstance(reference, profile.Profile):
        return reference
    if profile_file.is_profile_source(reference):
        storage = read_options.storage_options if read_options else ()
        loaded = profile_file.load(reference, storage)
        # Reports and history name the file the user gave, not the data it was made from.
        return replace(loaded, source=remote.redact(os.fspath(reference)))
    return scan_table(reference, read_options)


def fitted_options(
    reference: Table | profile.Profile, options: Options, given: Iterable[str] = ()
) -> Options:
    """`options` with a profile's binning options (bins, top_k, discrete_max, categorical).

    A binning option not in `given` takes the profile's value; one given with another value than
    the profile was fitted with raises OptionError, since the bins cannot be refitted. Smoothing
    and base are scoring options and may differ.
    """
    if not isinstance(reference, profile.Profile):
        return options
    fitted = profile.binning_options(reference.options)
    chosen = profile.binning_options(options)
    given = set(given)
    for key in [k for k in chosen if k in given]:  # in a fixed order: one message for one input
        if chosen[key] != fitted[key]:
            raise OptionError(
                key,
                chosen[key],
                f"cannot be refitted: {reference.source} was fitted with {_show(fitted[key])}",
                shown=_show(chosen[key]),
            )
    used = reference.options or Options()
    return replace(
        options,
        bins=used.bins,
        top_k=used.top_k,
        discrete_max=used.discrete_max,
        categorical=used.categorical,
    )


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    return str(value)


def reference_profile(
    reference: Table | profile.Profile,
    kinds: Mapping[str, Kind],
    options: Options,
    *,
    streaming: bool = False,
) -> profile.Profile:
    """The reference side of a comparison: built from data, or the planned columns of a profile."""
    if isinstance(reference, profile.Profile):
        columns = {name: reference.columns[name] for name in kinds}
        return replace(reference, columns=columns)
    return profile.build(reference, kinds, options, streaming=streaming)


def profile_data(
    source: DataSource,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    bins_from: profile.Profile | str | os.PathLike[str] | None = None,
    read_options: ReadOptions | None = None,
    pairs: PairsSetting | None = None,
) -> profile.Profile:
    """Profile a dataset so the profile can stand in for it as a reference.

    With `bins_from` (a profile or profile file), the data is counted on that profile's bins
    instead of fitting new ones, so parts of one dataset can be profiled apart and merged; the
    pair tables that profile stores are counted too. `pairs` ("all", or (X, Y) column pairs)
    adds the joint tables of these pairs, so that the profile can be the reference of a
    comparison with pairs.
    """
    table = scan_table(source, read_options)
    if bins_from is not None:
        reference = (
            bins_from
            if isinstance(bins_from, profile.Profile)
            else profile_file.load(bins_from, read_options.storage_options if read_options else ())
        )
        recounted = _with_ranges(table, profile.recount(table, reference))
        stored = list(reference.pairs)
        if pairs == ALL_PAIRS:
            return with_pair_tables(recounted, table, None)
        if stored or pairs:
            return with_pair_tables(recounted, table, [*stored, *(pairs or ())])
        return recounted
    options = options or Options()
    kinds, _ = plan_columns(table, table, columns, exclude, options.categorical)
    built = profile.build(table, kinds, options)
    if built.rows == 0:
        raise InputError(f"{table.name}: no rows to profile")
    wanted = set(columns) if columns else set(table.schema) - set(table.partitions)
    wanted -= set(exclude)
    schema = tuple((name, str(dtype)) for name, dtype in table.schema.items() if name in wanted)
    built = replace(built, options=options, schema=schema)  # ranges included, by build
    if pairs is None:
        return built
    return with_pair_tables(built, table, None if pairs == ALL_PAIRS else pairs)


def _with_ranges(table: Table, built: profile.Profile) -> profile.Profile:
    """`built` with the range of its date, datetime and integer columns, so that a comparison
    with the profile finds event-time and ID columns as one with `table` would."""
    names = [n for n in built.columns if profile.has_range(table.schema[n])]
    if not names:
        return built
    found = profile.value_ranges(table, names)
    columns = {n: replace(c, range=found.get(n)) for n, c in built.columns.items()}
    return replace(built, columns=columns)
