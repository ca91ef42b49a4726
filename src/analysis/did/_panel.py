"""Input checks and the time mapping shared by every estimator in :mod:`analysis.did`.

For estimator authors (did-2 included) the entry point is :func:`prepare_panel`::

    panel = prepare_panel(data, outcome="y", unit="region_code", time="month",
                          cohort="first_wfa_month", require_balanced=True, dropna=False,
                          extra_columns=covariates + [cluster])
    panel.data          # columns: unit, time (int), cohort (int, 0 = never treated), outcome,
                        #          then extra_columns under their own names
    panel.time_mapping  # .to_internal(labels) / .to_label(ints) between input labels and ints
    panel.n_units, panel.n_treated_units, panel.cohorts (ints), panel.cohort_labels

It runs the checks below in this order and raises ``ValueError`` whose message names the column
and what was expected. The checks are also usable one by one:
:func:`check_columns`, :func:`check_missing_keys`, :func:`check_duplicates`,
:func:`check_missing_outcome`, :func:`check_cohort_constant`, :func:`check_cohort_range`,
:func:`check_balanced`, :func:`check_never_treated` (call it when the control group is the
never-treated) and :func:`warn_few_treated` (a ``UserWarning`` naming an alternative inference).

Time: integer periods (e.g. years) or months given as ``pandas.Period[M]``, ``Timestamp`` /
``datetime64`` (day ignored) or ``'YYYY-MM'`` strings. Months map to consecutive integers
(1 = earliest month in the data), so ``event`` = months since adoption. Integer periods are kept
as they are when all are positive (mpdta years stay 2003-2007) and shifted to start at 1
otherwise, because cohort 0 means "never treated". The cohort column uses the same kind of
values as ``time``; never-treated units have 0 or a missing value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

#: Below this many treated units, cluster-robust / influence-function inference is unreliable.
MIN_TREATED_UNITS = 5

_RESERVED = ("unit", "time", "cohort", "outcome")


@dataclass(frozen=True)
class TimeMapping:
    """Map between the input's time labels and the internal integer periods.

    ``kind``: ``"integer"`` (internal = label - ``offset``), ``"period"`` (pandas Period[M]),
    ``"timestamp"`` (month start Timestamps on the way back) or ``"string"`` ('YYYY-MM').
    For the monthly kinds internal = months since ``origin`` (a Period[M]) + 1.
    """

    kind: str
    offset: int = 0
    origin: pd.Period | None = None

    def to_internal(self, labels: Any) -> np.ndarray:
        """Labels (array-like or scalar) -> int64 array of internal periods. Missing -> error."""
        values = pd.Series(np.atleast_1d(np.asarray(labels, dtype=object)))
        if self.kind == "integer":
            return values.astype("int64").to_numpy() - self.offset
        months = _to_month_ordinals(values, column="time")
        return months - self.origin.ordinal + 1

    def to_label(self, internal: Any) -> np.ndarray:
        """Internal periods (int array-like) -> array of labels of the input's kind."""
        ints = np.asarray(internal, dtype="int64")
        if self.kind == "integer":
            return ints + self.offset
        ordinals = ints - 1 + self.origin.ordinal
        periods = [pd.Period(ordinal=int(o), freq="M") for o in np.atleast_1d(ordinals)]
        if self.kind == "period":
            return np.array(periods, dtype=object)
        if self.kind == "timestamp":
            return np.array([p.to_timestamp() for p in periods], dtype=object)
        return np.array([p.strftime("%Y-%m") for p in periods], dtype=object)

    def label(self, internal: int) -> Any:
        """One internal period -> its label (Python scalar for integer time)."""
        out = self.to_label([internal])[0]
        return int(out) if self.kind == "integer" else out


@dataclass(frozen=True)
class PreparedPanel:
    """A checked long panel with internal integer time.

    ``data`` columns: ``unit``, ``time`` (int64), ``cohort`` (int64 first treated period on the
    same internal scale, 0 = never treated), ``outcome`` (float) and the requested extra columns
    under their own names. Rows sorted by unit, time.
    ``columns``: the user's names for unit/time/cohort/outcome (for messages).
    """

    data: pd.DataFrame
    time_mapping: TimeMapping
    columns: dict[str, str]
    n_units: int
    n_treated_units: int
    cohorts: tuple[int, ...]
    balanced: bool
    n_dropped_missing: int

    @property
    def cohort_labels(self) -> tuple[Any, ...]:
        return tuple(self.time_mapping.label(g) for g in self.cohorts)

    @property
    def has_never_treated(self) -> bool:
        return bool((self.data.groupby("unit", sort=False)["cohort"].first() == 0).any())


# --------------------------------------------------------------------------- checks


def _scalar(value: Any) -> Any:
    """numpy scalar -> Python scalar, so messages read 8001 rather than np.int64(8001)."""
    return value.item() if isinstance(value, np.generic) else value


def check_columns(data: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Every named column exists. ``columns`` maps role (e.g. 'outcome') to column name."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for role, name in columns.items():
        if name is not None and name not in data.columns:
            raise ValueError(
                f"{role} column {name!r} not found in data; available columns: "
                f"{list(map(str, data.columns))}"
            )


def check_missing_keys(data: pd.DataFrame, unit: str, time: str) -> None:
    """No missing unit ids or time values."""
    for name in (unit, time):
        n_missing = int(data[name].isna().sum())
        if n_missing:
            raise ValueError(
                f"column {name!r} has {n_missing} missing value(s); every row needs a unit id "
                "and a time period"
            )


def check_duplicates(data: pd.DataFrame, unit: str, time: str) -> None:
    """At most one row per unit and period."""
    dup = data.duplicated([unit, time], keep=False)
    if dup.any():
        first = data.loc[dup, [unit, time]].iloc[0]
        raise ValueError(
            f"duplicate rows for (unit {unit!r}, time {time!r}): {int(dup.sum())} rows share a "
            f"unit-time pair, e.g. {unit}={_scalar(first[unit])!r}, {time}={_scalar(first[time])!r}; "
            "expected one row per unit and period (aggregate first)"
        )


def check_missing_outcome(data: pd.DataFrame, outcome: str, *, dropna: bool) -> pd.DataFrame:
    """Missing outcomes: raise (default) or drop those rows when ``dropna=True``."""
    missing = data[outcome].isna()
    n_missing = int(missing.sum())
    if n_missing == 0:
        return data
    if not dropna:
        raise ValueError(
            f"outcome column {outcome!r} has {n_missing} missing value(s) out of {len(data)} "
            "rows; fill them, or pass dropna=True to drop those rows (the panel may then be "
            "unbalanced)"
        )
    return data.loc[~missing]


def check_cohort_constant(data: pd.DataFrame, unit: str, cohort: str) -> None:
    """Each unit has one cohort value in every row (missing counted as a value)."""
    coded = data[cohort].astype(object).where(data[cohort].notna(), "<missing>").astype(str)
    n_values = coded.groupby(data[unit], sort=False).nunique()
    bad = n_values[n_values > 1]
    if len(bad):
        raise ValueError(
            f"cohort column {cohort!r} changes over time within {len(bad)} unit(s) "
            f"(e.g. {unit}={_scalar(bad.index[0])!r}); expected one first-treatment period per unit, "
            "constant across its rows (staggered adoption: once treated, always treated)"
        )


def check_cohort_range(
    cohort_int: np.ndarray, time_int: np.ndarray, *, cohort: str, mapping: TimeMapping
) -> None:
    """Treated cohorts lie within the observed periods (first period excluded)."""
    treated = np.unique(cohort_int[cohort_int != 0])
    t_min, t_max = int(time_int.min()), int(time_int.max())
    outside = [int(g) for g in treated if g <= t_min or g > t_max]
    if outside:
        labels = [mapping.label(g) for g in outside]
        raise ValueError(
            f"cohort column {cohort!r} has first-treatment periods {labels} outside the observed "
            f"time range ({mapping.label(t_min)} to {mapping.label(t_max)}); a cohort must be "
            "after the first observed period (to have a pre-period) and no later than the last. "
            "Drop units treated from the start; code units adopting after the panel ends as "
            "never treated (0) if that is what you mean"
        )


def check_balanced(data: pd.DataFrame, unit: str, time: str, *, estimator: str = "") -> bool:
    """Raise if some unit is not observed in every period (for estimators needing balance)."""
    balanced = is_balanced(data, unit, time)
    if not balanced:
        counts = data.groupby(unit, sort=False)[time].size()
        n_periods = data[time].nunique()
        n_short = int((counts < n_periods).sum())
        who = f"{estimator} " if estimator else ""
        raise ValueError(
            f"unbalanced panel: {n_short} unit(s) in column {unit!r} are not observed in all "
            f"{n_periods} periods of column {time!r}; the {who}estimator needs a balanced panel "
            "(drop or fill the incomplete units)"
        )
    return True


def is_balanced(data: pd.DataFrame, unit: str, time: str) -> bool:
    n_units = data[unit].nunique()
    n_periods = data[time].nunique()
    return len(data) == n_units * n_periods


def check_never_treated(panel: PreparedPanel) -> None:
    """Raise when the never-treated control group is requested but empty."""
    if not panel.has_never_treated:
        raise ValueError(
            f"control='never' needs never-treated units, but every unit has a cohort in column "
            f"{panel.columns['cohort']!r} (never treated = 0 or missing); use "
            "control='not_yet' or add never-treated units"
        )


def warn_few_treated(n_treated_units: int, *, minimum: int = MIN_TREATED_UNITS,
                     stacklevel: int = 3) -> bool:
    """Warn (``UserWarning``) when there are too few treated units for large-sample inference.

    Returns True if a warning was issued."""
    if n_treated_units < minimum:
        warnings.warn(
            f"only {n_treated_units} treated unit(s): clustered / influence-function standard "
            f"errors are unreliable with fewer than {minimum} treated units. Use synthetic "
            "control (analysis.synth) with placebo / randomization inference instead, or at "
            "least a wild cluster bootstrap",
            UserWarning,
            stacklevel=stacklevel,
        )
        return True
    return False


# --------------------------------------------------------------------------- time mapping


def _to_month_ordinals(values: pd.Series, *, column: str) -> np.ndarray:
    """Period[M] / Timestamp / 'YYYY-MM' values -> month ordinals (int64)."""
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.asfreq("M").array.asi8.astype("int64")
    try:
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            periods = values.dt.to_period("M")
        else:
            sample = values.iloc[0]
            if isinstance(sample, pd.Period):
                periods = pd.Series(pd.PeriodIndex(list(values), freq="M"))
            elif isinstance(sample, str):
                periods = pd.Series(pd.PeriodIndex(pd.to_datetime(values, format="%Y-%m"),
                                                   freq="M"))
            else:
                periods = pd.to_datetime(values).dt.to_period("M")
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"column {column!r}: expected integer periods or months (pandas Period[M], "
            f"Timestamp, or 'YYYY-MM' strings); could not read {values.iloc[0]!r} ({err})"
        ) from None
    return periods.array.asi8.astype("int64")


def _time_kind(values: pd.Series) -> str:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "invalid"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "integer" if np.all(np.mod(values.to_numpy(), 1) == 0) else "invalid"
    if isinstance(dtype, pd.PeriodDtype):
        return "period"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    sample = values.iloc[0]
    if isinstance(sample, pd.Period):
        return "period"
    if isinstance(sample, (pd.Timestamp, np.datetime64)):
        return "timestamp"
    if isinstance(sample, str):
        return "string"
    if isinstance(sample, (int, np.integer)):
        return "integer"
    return "invalid"


def make_time_mapping(times: pd.Series, *, column: str) -> TimeMapping:
    """Build the :class:`TimeMapping` for the values of the time column."""
    kind = _time_kind(times)
    if kind == "invalid":
        raise ValueError(
            f"time column {column!r} has dtype {times.dtype}; expected integer periods or months "
            "(pandas Period[M], Timestamp, or 'YYYY-MM' strings)"
        )
    if kind == "integer":
        t_min = int(times.min())
        return TimeMapping(kind="integer", offset=0 if t_min > 0 else t_min - 1)
    ordinals = _to_month_ordinals(times, column=column)
    return TimeMapping(kind=kind, origin=pd.Period(ordinal=int(ordinals.min()), freq="M"))


def _cohort_to_internal(values: pd.Series, mapping: TimeMapping, *, column: str) -> np.ndarray:
    """Cohort labels -> internal ints, 0 for never treated (0 or missing)."""
    never = values.isna().to_numpy().copy()
    if mapping.kind == "integer" or pd.api.types.is_numeric_dtype(values.dtype):
        numeric = pd.to_numeric(values, errors="coerce")
        never |= (numeric == 0).to_numpy()
        if mapping.kind != "integer":
            treated_non_month = ~never & numeric.notna().to_numpy()
            if treated_non_month.any():
                raise ValueError(
                    f"cohort column {column!r} is numeric but time is monthly; expected the "
                    "first treated month in the same form as time (0 or missing = never treated)"
                )
    else:
        never |= values.astype(object).isin([0, "0"]).to_numpy()
    out = np.zeros(len(values), dtype="int64")
    if (~never).any():
        treated = values[~never]
        if mapping.kind == "integer":
            numeric = pd.to_numeric(treated, errors="coerce")
            if numeric.isna().any() or (np.mod(numeric, 1) != 0).any():
                raise ValueError(
                    f"cohort column {column!r}: expected integer first-treatment periods like "
                    f"the time column (0 or missing = never treated), got {treated.iloc[0]!r}"
                )
            out[~never] = numeric.astype("int64").to_numpy() - mapping.offset
        else:
            months = _to_month_ordinals(treated.reset_index(drop=True), column=column)
            out[~never] = months - mapping.origin.ordinal + 1
    return out


# --------------------------------------------------------------------------- entry point


def prepare_panel(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    extra_columns: Sequence[str | None] | None = None,
    require_balanced: bool = False,
    dropna: bool = False,
    estimator: str = "",
    optional_columns: Sequence[str] = (),
) -> PreparedPanel:
    """Check a long panel and return it with internal integer time (see module docstring).

    ``extra_columns``: covariates / cluster / weight columns to carry along (``None`` entries
    are ignored); rows with missing values there raise, except in ``optional_columns`` (labels
    such as heterogeneity groups, missing where they do not apply). ``dropna=True`` drops rows with a
    missing outcome (count in ``n_dropped_missing``); otherwise missing outcomes raise.
    ``require_balanced=True`` raises if any unit misses a period (after dropping).
    """
    extras = [c for c in dict.fromkeys(extra_columns or []) if c is not None]
    check_columns(
        data,
        {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort}
        | {f"extra ({c})": c for c in extras},
    )
    clash = [c for c in extras if c in _RESERVED and c not in (outcome, unit, time, cohort)]
    if clash:
        raise ValueError(
            f"columns {clash} clash with internal names {_RESERVED}; rename them"
        )
    if len(data) == 0:
        raise ValueError("data has no rows")
    check_missing_keys(data, unit, time)
    check_duplicates(data, unit, time)
    if not pd.api.types.is_numeric_dtype(data[outcome].dtype):
        raise ValueError(f"outcome column {outcome!r} must be numeric, got {data[outcome].dtype}")
    n_before = len(data)
    data = check_missing_outcome(data, outcome, dropna=dropna)
    n_dropped = n_before - len(data)
    if len(data) == 0:
        raise ValueError(f"no rows left after dropping missing values of {outcome!r}")
    for c in extras:
        if c in optional_columns:
            continue
        n_missing = int(data[c].isna().sum())
        if n_missing:
            raise ValueError(
                f"column {c!r} has {n_missing} missing value(s); covariates, cluster and weight "
                "columns must be complete (drop or impute those rows first)"
            )
    check_cohort_constant(data, unit, cohort)

    mapping = make_time_mapping(data[time], column=time)
    time_int = mapping.to_internal(data[time].to_numpy())
    cohort_int = _cohort_to_internal(data[cohort].reset_index(drop=True), mapping, column=cohort)
    check_cohort_range(cohort_int, time_int, cohort=cohort, mapping=mapping)

    frame = pd.DataFrame(
        {
            # Text unit ids (e.g. region codes) become integer codes: moderndid needs numbers.
            "unit": (data[unit].to_numpy() if pd.api.types.is_numeric_dtype(data[unit].dtype)
                     else pd.factorize(data[unit], sort=True)[0] + 1),
            "time": time_int,
            "cohort": cohort_int,
            "outcome": data[outcome].to_numpy(dtype=float),
        }
    )
    for c in extras:
        if c not in _RESERVED:
            frame[c] = data[c].to_numpy()
    frame = frame.sort_values(["unit", "time"], kind="stable").reset_index(drop=True)

    balanced = is_balanced(frame, "unit", "time")
    if require_balanced and not balanced:
        check_balanced(
            frame.rename(columns={"unit": unit, "time": time}), unit, time, estimator=estimator
        )
    unit_cohort = frame.groupby("unit", sort=False)["cohort"].first()
    cohorts = tuple(sorted(int(g) for g in unit_cohort.unique() if g != 0))
    return PreparedPanel(
        data=frame,
        time_mapping=mapping,
        columns={"outcome": outcome, "unit": unit, "time": time, "cohort": cohort},
        n_units=int(len(unit_cohort)),
        n_treated_units=int((unit_cohort != 0).sum()),
        cohorts=cohorts,
        balanced=balanced,
        n_dropped_missing=n_dropped,
    )


def require_columns_present(names: Iterable[str | None]) -> list[str]:
    """Drop ``None`` from a list of optional column names (helper for estimator signatures)."""
    return [n for n in names if n is not None]
