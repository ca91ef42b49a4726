"""From a long panel (one row per unit × period) to the matrix the estimators use.

Checks the input and raises ``SynthInputError`` with a message that names the problem: missing
columns, treated unit absent, empty donor pool, treatment start outside the data, too few
pre-periods, unbalanced panel (a unit missing a period, a duplicate unit × period, a missing
outcome value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError


class SynthInputError(AnalysisError, ValueError):
    """Input that a synthetic-control estimator cannot use (the message says why)."""


@dataclass(frozen=True)
class SynthPanel:
    """The outcome matrix of one treated unit and its donors.

    ``Y`` is (N0 + 1) × T: donor rows first (in ``donors`` order), the treated unit last; columns
    are ``times`` in increasing order, the first ``T0`` before ``treatment_start``.
    """

    Y: np.ndarray
    donors: tuple
    treated_unit: Any
    times: tuple
    T0: int
    treatment_start: Any
    outcome: str

    @property
    def N0(self) -> int:
        return len(self.donors)

    @property
    def T1(self) -> int:
        return len(self.times) - self.T0

    @property
    def pre_times(self) -> tuple:
        return self.times[: self.T0]

    @property
    def post_times(self) -> tuple:
        return self.times[self.T0 :]


def wide_panel(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    donors: Sequence | None = None,
    min_pre_periods: int = 1,
) -> SynthPanel:
    """Check ``data`` and return the ``SynthPanel`` for ``treated_unit``.

    ``donors=None`` means every other unit in ``data``. The treated unit is dropped from a donor
    list that contains it. ``treatment_start`` is the first treated period (same type as the
    ``time`` column); at least ``min_pre_periods`` periods before it and one from it on must be in
    the data.
    """
    missing = [c for c in (outcome, unit, time) if c not in data.columns]
    if missing:
        raise SynthInputError(f"column(s) not in the data: {', '.join(missing)}")
    units = pd.unique(data[unit])
    if treated_unit not in set(units):
        raise SynthInputError(f"treated unit {treated_unit!r} is not in column {unit!r}")
    if donors is None:
        donor_list = [u for u in units if u != treated_unit]
    else:
        absent = [d for d in donors if d not in set(units)]
        if absent:
            raise SynthInputError(f"donor(s) not in column {unit!r}: {', '.join(map(str, absent))}")
        donor_list = [d for d in dict.fromkeys(donors) if d != treated_unit]
    if not donor_list:
        raise SynthInputError(f"the donor pool for {treated_unit!r} is empty")
    subset = data.loc[data[unit].isin(donor_list + [treated_unit]), [unit, time, outcome]]
    duplicated = subset.duplicated([unit, time])
    if duplicated.any():
        first = subset.loc[duplicated].iloc[0]
        raise SynthInputError(
            f"unbalanced panel: unit {first[unit]!r} has more than one row for period {first[time]!r}"
        )
    times = sorted(pd.unique(subset[time]))
    try:
        T0 = sum(t < treatment_start for t in times)
        has_post = any(t >= treatment_start for t in times)
    except TypeError:
        raise SynthInputError(
            f"treatment_start {treatment_start!r} cannot be compared with the {time!r} values "
            f"(e.g. {times[0]!r})"
        ) from None
    if T0 < min_pre_periods or not has_post:
        raise SynthInputError(
            f"treatment_start {treatment_start!r} is outside the data ({times[0]!r} to {times[-1]!r}): "
            f"need at least {min_pre_periods} period(s) before it and one from it on"
        )
    wide = subset.pivot(index=unit, columns=time, values=outcome).reindex(
        index=donor_list + [treated_unit], columns=times
    )
    if wide.isna().any().any():
        rows, cols = np.where(wide.isna().to_numpy())
        raise SynthInputError(
            f"unbalanced panel: unit {wide.index[rows[0]]!r} has no {outcome!r} value for period "
            f"{wide.columns[cols[0]]!r} ({len(rows)} unit-period cell(s) missing)"
        )
    return SynthPanel(
        Y=wide.to_numpy(dtype=float),
        donors=tuple(donor_list),
        treated_unit=treated_unit,
        times=tuple(times),
        T0=int(T0),
        treatment_start=treatment_start,
        outcome=outcome,
    )
