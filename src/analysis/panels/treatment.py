"""Treatment timing and dose from the WFA policy registry (``policies`` table).

Used by every staggered analysis (service times, budget). Rules, applied in this order:

1. **Partial months.** A policy spell is *in force in a month* when it covers at least half of the
   month's working days (Monday–Friday; national holidays are not modelled). A Pemda adopting on
   12 or 15 January is treated from January; one adopting on the 20th is treated from the next
   month. (Anticipation in the adoption month, if any, shows up as event time −1 in the event study.)
2. **Short gaps are bridged.** Two spells of the same Pemda separated by at most
   ``max_gap_months`` months without a spell in force are joined. This is the Jawa Barat case:
   a Thursday-WFH trial in November 2025, a 50/50 split trial in December 2025 that the registry
   does not encode, and the policy from January 2026. With the default (1 month) Jawa Barat's
   cohort is **2025-11** and it counts as treated in December: WFA-like arrangements never stopped.
3. **Switched off.** A Pemda whose last spell ended before the end of the study window (Surakarta:
   Wednesdays 14–28 January 2026 only) violates the staggered estimators' assumption that
   treatment, once on, stays on. ``trial_handling="exclude"`` (default) marks it ``switched_off``
   and leaves it out of the staggered estimators (neither treated nor control); report it
   separately. ``trial_handling="absorbing"`` keeps it as an adopter from its first month
   (an intention-to-treat reading).
4. **Already treated.** A Pemda whose cohort is on or before the first period of the window has
   no pre-period: ``already_treated``, left out of the staggered estimators.

Dose: ``wfa_days_per_week`` of the spell in force in the Pemda's last treated month.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.notes import Note

TRIAL_HANDLING = ("exclude", "absorbing")

#: Values of the ``status`` column.
STATUSES = ("never", "adopter", "switched_off", "already_treated")


def _month_working_days(period: str) -> pd.DatetimeIndex:
    start = pd.Period(period, freq="M").start_time
    days = pd.date_range(start, start + pd.offsets.MonthEnd(0), freq="D")
    return days[days.day_of_week < 5]


def treatment_by_period(
    policies: pd.DataFrame, regions: pd.DataFrame, *, periods: Sequence[str], max_gap_months: int = 1
) -> pd.DataFrame:
    """WFA in force per Pemda and month, after the partial-month and gap rules (1 and 2 above).

    Returns DataFrame ``region_code, period, wfa_in_force`` (bool), ``wfa_days_per_week``
    (0 when not in force), ``share_working_days`` (share of the month's working days covered by a
    spell, before gap bridging), ``bridged`` (True for a month filled in by rule 2).
    """
    periods = sorted(set(periods))
    if not periods:
        raise ValueError("periods is empty")
    codes = pd.Index(regions["region_code"].astype(str).unique())
    pol = policies.copy()
    pol["region_code"] = pol["region_code"].astype(str)
    pol["start_date"] = pd.to_datetime(pol["start_date"])
    pol["end_date"] = pd.to_datetime(pol["end_date"])
    if pol["start_date"].isna().any():
        raise ValueError("policies: start_date missing in some row")
    workdays_by_period = {period: _month_working_days(period).to_numpy(dtype="datetime64[ns]")
                          for period in periods}
    with_policy = set(pol["region_code"])
    # each Pemda's spells as arrays (an open end is "for ever"), compared with every working day
    # of a month at once: the same comparisons as spell by spell, without a pandas row per spell
    starts = pol["start_date"].to_numpy(dtype="datetime64[ns]")
    ends = pol["end_date"].to_numpy(dtype="datetime64[ns]", copy=True)
    ends[np.isnat(ends)] = np.datetime64(pd.Timestamp.max.value, "ns")
    doses = pol["wfa_days_per_week"].astype(int).to_numpy()
    spells_of = pd.Series(np.arange(len(pol))).groupby(pol["region_code"].to_numpy()).apply(np.asarray).to_dict()
    rows = []
    for code in codes:
        if code not in with_policy:
            rows.extend((code, period, False, 0, 0.0) for period in periods)
            continue
        own = spells_of[code]
        code_starts, code_ends, code_doses = starts[own][:, None], ends[own][:, None], doses[own]
        for period in periods:
            workdays = workdays_by_period[period][None, :]
            inside = (workdays >= code_starts) & (workdays <= code_ends)  # spell x working day
            hit = inside.any(axis=1)
            covered = inside.any(axis=0)
            dose = max(0, int(code_doses[hit].max())) if hit.any() else 0
            share = covered.mean() if covered.size else 0.0
            rows.append((code, period, share >= 0.5, dose if share >= 0.5 else 0, float(share)))
    out = pd.DataFrame(rows, columns=["region_code", "period", "wfa_in_force", "wfa_days_per_week", "share_working_days"])
    out["bridged"] = False
    if max_gap_months > 0:
        for code in with_policy & set(codes):
            idx = out.index[out["region_code"] == code]
            on = out.loc[idx, "wfa_in_force"].to_numpy()
            pos = np.flatnonzero(on)
            for a, b in zip(pos[:-1], pos[1:]):
                if 1 < b - a <= max_gap_months + 1:
                    fill = idx[a + 1 : b]
                    out.loc[fill, "wfa_in_force"] = True
                    out.loc[fill, "bridged"] = True
                    out.loc[fill, "wfa_days_per_week"] = out.loc[idx[a], "wfa_days_per_week"]
    return out


def assign_treatment(
    policies: pd.DataFrame,
    regions: pd.DataFrame,
    *,
    periods: Sequence[str],
    trial_handling: str = "exclude",
    max_gap_months: int = 1,
) -> pd.DataFrame:
    """One row per Pemda: cohort, dose and how the staggered estimators should use it.

    Parameters
    ----------
    policies, regions : the ``policies`` and ``regions`` tables (``analysis.data.load``).
    periods : the study window, ``YYYY-MM`` strings (e.g. the months of the service panel).
    trial_handling : ``"exclude"`` or ``"absorbing"`` for Pemda whose WFA switched off (module doc).
    max_gap_months : longest gap between spells that is bridged (rule 2).

    Returns
    -------
    DataFrame with ``region_code``, ``cohort`` (``YYYY-MM`` first month in force, None if never),
    ``wfa_days_per_week`` (dose, 0 if never), ``treated_months`` (months in the window with WFA in
    force), ``last_treated`` (``YYYY-MM`` or None), ``status`` (``never``, ``adopter``,
    ``switched_off``, ``already_treated``), ``in_staggered_sample`` (bool: used by the staggered
    estimators, as treated or as control), ``note`` (why: a tuple of :class:`~analysis.notes.Note`,
    codes ``gap_bridged``, ``no_pre_period``, ``switched_off_excluded``, ``ended_kept_absorbing``).
    """
    if trial_handling not in TRIAL_HANDLING:
        raise ValueError(f"trial_handling must be one of {TRIAL_HANDLING}, got {trial_handling!r}")
    periods = sorted(set(periods))
    by_period = treatment_by_period(policies, regions, periods=periods, max_gap_months=max_gap_months)
    rows = []
    period_of = by_period["period"].to_numpy()
    in_force = by_period["wfa_in_force"].to_numpy(dtype=bool)
    doses = by_period["wfa_days_per_week"].to_numpy()
    bridged = by_period["bridged"].to_numpy(dtype=bool)
    for code, index in by_period.groupby("region_code", sort=False).indices.items():
        on = index[in_force[index]]  # this Pemda's months in force, in period order
        if not len(on):
            rows.append((code, None, 0, 0, None, "never", True, ()))
            continue
        cohort, last = period_of[on[0]], period_of[on[-1]]
        dose = int(doses[on[-1]])
        note = []
        if bridged[on].any():
            note.append(Note("gap_bridged", {"months": list(period_of[on[bridged[on]]])}))
        if cohort <= periods[0]:
            status, included = "already_treated", False
            note.append(Note("no_pre_period", {"cohort": cohort}))
        elif last < periods[-1] and trial_handling == "exclude":
            status, included = "switched_off", False
            note.append(Note("switched_off_excluded", {"last_month": last}))
        else:
            status, included = "adopter", True
            if last < periods[-1]:
                note.append(Note("ended_kept_absorbing", {"last_month": last}))
        rows.append((code, cohort, dose, len(on), last, status, included, tuple(note)))
    return pd.DataFrame(
        rows,
        columns=["region_code", "cohort", "wfa_days_per_week", "treated_months", "last_treated", "status",
                 "in_staggered_sample", "note"],
    )


#: ``source`` of the policy rows :mod:`analysis.simulate` writes for its simulated adopters.
SIMULATED_SOURCE = "simulated"


def real_adopter_codes(policies: pd.DataFrame) -> set[str]:
    """Region codes of the real adopters in ``policies``: every Pemda with a policy row that
    :mod:`analysis.simulate` did not add (``source == "simulated"``, or an ``origin`` column
    saying ``simulated``). In a user's own data every adopter is real; in the synthetic data the
    real ones are the bundled registry's."""
    simulated = policies["source"].astype(str).str.strip().str.lower() == SIMULATED_SOURCE
    if "origin" in policies.columns:
        simulated |= policies["origin"].astype(str).str.strip().str.lower() == SIMULATED_SOURCE
    return set(policies.loc[~simulated, "region_code"].astype(str))
