"""Schema planning: which columns to compare and how to bin them, and the changes on the way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from kldrift import profile
from kldrift.errors import ColumnError
from kldrift.io import Table
from kldrift.options import Kind, Options
from kldrift.result import ColumnDrift, SchemaChange

#: A change of at least this much in a column's null share (0.01 = 1 percentage point) is listed
#: among the schema changes; whether it is drift is for the column's KL to say.
NULL_RATE_CHANGE = 0.01


#: Gone categories shown by name in a schema change's description; the rest are counted.
SHOWN_CATEGORIES = 5


def plan_columns(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    categorical: Sequence[str],
) -> tuple[dict[str, Kind], list[SchemaChange]]:
    """Which columns to compare and how to bin them, and the schema changes found on the way.

    Hive partition keys (date=... in the paths) are compared only when named in `columns`.
    """
    check_named_columns(ref, cur, columns or (), "columns")
    check_named_columns(ref, cur, exclude, "exclude")
    check_named_columns(ref, cur, categorical, "categorical")
    cur_schema = dict(cur.schema)
    wanted = set(columns) if columns else set(dict(ref.schema)) | set(cur_schema)
    wanted -= set(exclude)
    if not columns:
        wanted -= {key for t in (ref, cur) if isinstance(t, Table) for key in t.partitions}

    kinds: dict[str, Kind] = {}
    changes: list[SchemaChange] = []
    ref_kinds, cur_kinds = reference_kinds(ref), reference_kinds(cur)
    for name, ref_dtype in dict(ref.schema).items():
        if name not in wanted:
            continue
        if name not in cur_schema:
            changes.append(SchemaChange(name, "missing_in_current", str(ref_dtype), None))
            continue
        cur_dtype = cur_schema[name]
        ref_kind, cur_kind = ref_kinds[name], cur_kinds[name]
        if name in categorical and ref_kind is not None and cur_kind is not None:
            kinds[name] = Kind.categorical
        elif ref_kind is None:
            changes.append(SchemaChange(name, "unsupported", str(ref_dtype), str(cur_dtype)))
        elif ref_kind is not cur_kind:
            changes.append(SchemaChange(name, "kind_changed", str(ref_dtype), str(cur_dtype)))
        else:
            kinds[name] = ref_kind
        if name in kinds and str(ref_dtype) != str(cur_dtype):  # a profile stores dtype names
            changes.append(SchemaChange(name, "dtype_changed", str(ref_dtype), str(cur_dtype)))
    changes += [
        SchemaChange(name, "new_in_current", None, str(dtype))
        for name, dtype in cur_schema.items()
        if name in wanted and name not in ref_kinds
    ]
    return kinds, changes


def reference_kinds(ref: Table | profile.Profile) -> dict[str, Kind | None]:
    if isinstance(ref, profile.Profile):
        # A profile bins every column it can; a column it holds without bins cannot be binned.
        return {
            name: ref.columns[name].binning.kind if name in ref.columns else None
            for name, _ in ref.schema
        }
    return {name: profile.kind_of(dtype) for name, dtype in ref.schema.items()}


def reference_name(ref: Table | profile.Profile) -> str:
    """Display name of a reference: the data source, or the profile (file) name."""
    return ref.source if isinstance(ref, profile.Profile) else ref.name


def content_changes(columns: Iterable[ColumnDrift]) -> list[SchemaChange]:
    """Null-rate changes and new or gone categories of compared columns, in column order."""
    changes: list[SchemaChange] = []
    for c in sorted(columns, key=lambda c: c.name):
        ref_null, cur_null = c.null_share_reference, c.null_share_current
        if abs(cur_null - ref_null) >= NULL_RATE_CHANGE:
            detail = f"{ref_null:.1%} -> {cur_null:.1%}"
            changes.append(SchemaChange(c.name, "null_rate_changed", c.dtype, c.dtype, detail))
        if c.new_category_rows:
            share, predicted = c.new_category_share, c.predicted_new_share
            detail = f"{c.new_category_rows} current rows ({share:.1%}) not in reference"
            if predicted is not None:
                detail += f" (the reference's unseen tail predicts {predicted:.1%})"
            if c.new_categories:
                total = sum(c.current_counts) or 1
                largest = ", ".join(f"{_short(v)} {n / total:.1%}" for v, n in c.new_categories)
                listed = sum(n for _, n in c.new_categories)
                prefix = "largest " if listed < c.new_category_rows else ""
                detail += f"; {prefix}{largest}"
            changes.append(SchemaChange(c.name, "new_categories", c.dtype, c.dtype, detail))
        gone = c.gone_categories
        if gone:
            shown = ", ".join(_short(g) for g in gone[:SHOWN_CATEGORIES])
            more = len(gone) - SHOWN_CATEGORIES
            detail = shown + (f" and {more} more" if more > 0 else "")
            changes.append(SchemaChange(c.name, "gone_categories", c.dtype, c.dtype, detail))
    return changes


def skip_high_cardinality(
    ref_profile: profile.Profile, cur: Table | profile.Profile, options: Options
) -> tuple[profile.Profile, list[SchemaChange]]:
    """`ref_profile` without its ID-like categorical columns (unless forced with --categorical)."""
    changes: list[SchemaChange] = []
    for name, column in ref_profile.columns.items():
        found = profile.high_cardinality(column, options.top_k)
        if found is None or name in options.categorical:
            continue
        detail = f"high cardinality ({found[0]} distinct of {found[1]} rows)"
        changes.append(
            SchemaChange(
                name, "high_cardinality", column.dtype, str(dict(cur.schema)[name]), detail
            )
        )
    skipped = {change.column for change in changes}
    kept = {name: c for name, c in ref_profile.columns.items() if name not in skipped}
    return replace(ref_profile, columns=kept), changes


def _short(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def check_named_columns(
    ref: Table | profile.Profile, cur: Table | profile.Profile, names: Iterable[str], setting: str
) -> None:
    ref_names, cur_names = reference_kinds(ref), dict(cur.schema)
    for name in names:
        if name not in ref_names and name not in cur.schema:
            known = dict.fromkeys([*ref_names, *cur_names])
            where = f"{reference_name(ref)} or {reference_name(cur)}"
            raise ColumnError(name, where, setting=setting, known=known)


#: Characters that separate fields in text files: a column name holding one suggests the file
#: was read with the wrong separator.
_SEPARATORS = (",", ";", "\t", "|")


def check_compared(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    compared: Iterable[str],
    schema: Sequence[SchemaChange],
) -> None:
    """ColumnError when no column is left to score and no schema change fails the data.

    Exit code 0 would claim "no drift" about data never compared, so the error says why
    nothing was, e.g. "no columns compared: every shared column was skipped (1 high
    cardinality); is the separator right?".
    """
    if any(compared) or any(change.breaking for change in schema):
        return
    shared = [name for name in reference_kinds(ref) if name in dict(cur.schema)]
    skipped: dict[str, int] = {}
    for change in schema:
        if change.skipped:
            reason = change.change.replace("_", " ")
            skipped[reason] = skipped.get(reason, 0) + 1
    where = f"{reference_name(ref)} and {reference_name(cur)}"
    if skipped:
        counts = ", ".join(f"{n} {reason}" for reason, n in skipped.items())
        problem = f"no columns compared: every shared column was skipped ({counts})"
    else:
        problem = f"no columns compared: the column selection leaves none of the {len(shared)} "
        problem += f"shared by {where}"
    if len(shared) == 1 and any(sep in shared[0] for sep in _SEPARATORS):
        problem += "; is the separator right?"
    raise ColumnError(None, where, problem=problem)
