"""The design of a planned WFA pilot: how many Pemda adopt, in how many waves, observed how long.

Timeline of a simulated pilot (months, 0-based positions)::

    0 ........ months_before-1 | wave 1 starts | +wave_gap_months: wave 2 starts | ... | end
    <---- before any wave ----> <------- staggered adoption -------> <- months_after after the last wave ->

Wave ``j`` (0-based) adopts at position ``months_before + j * wave_gap_months`` and keeps WFA to
the end; the pilot ends ``months_after`` months after the last wave's start, so every adopter is
observed with WFA for at least ``months_after`` months (the first wave for
``months_after + (waves - 1) * wave_gap_months``). The first wave starts in calendar month
``first_wave_month`` (1 = January, as every 2026 pilot did), which places the simulated months
in the calendar so that seasonal patterns line up (see :mod:`analysis.power.placebo`).

Adopters are drawn at random from the eligible Pemda of the outcome pool (all of them unless
``eligible`` lists region codes), optionally stratified: the ``n_adopters`` are allocated to the
strata of a Pemda attribute (``province_code``, ``spbe_band``, ``tkd_cut_tertile``)
proportionally to their number of eligible Pemda (largest remainders), then drawn at random
within each stratum. Adopters are assigned to waves at random, in sizes as equal as possible
(earlier waves take the remainder). Every other Pemda of the pool is a comparison Pemda.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["STRATA", "PilotDesign", "allocate_to_strata", "draw_adopters"]

#: Pemda attributes a pilot can be stratified by (columns of ``PilotOutcomes.pemda``).
STRATA = ("province_code", "spbe_band", "tkd_cut_tertile")


@dataclass(frozen=True)
class PilotDesign:
    """A planned pilot (see the module docstring for the timeline).

    ``n_adopters``: Pemda that adopt WFA; ``waves``: adoption waves (1 = all at once);
    ``months_after``: months every adopter is observed with WFA (from the last wave's start);
    ``months_before``: months of data before the first wave; ``wave_gap_months``: months between
    waves; ``first_wave_month``: calendar month (1–12) of the first wave; ``strata``: attribute
    to stratify the draw by (one of :data:`STRATA`) or ``None``; ``eligible``: region codes that
    may adopt (``None`` = every Pemda of the pool).
    """

    n_adopters: int
    waves: int = 1
    months_after: int = 6
    months_before: int = 12
    wave_gap_months: int = 3
    first_wave_month: int = 1
    strata: str | None = None
    eligible: tuple[str, ...] | None = None

    def __post_init__(self):
        for name, low in (("n_adopters", 1), ("waves", 1), ("months_after", 1),
                          ("months_before", 1), ("wave_gap_months", 1), ("first_wave_month", 1)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"PilotDesign.{name}: expected an integer >= {low}, got {value!r}")
        if self.first_wave_month > 12:
            raise ValueError(f"PilotDesign.first_wave_month: expected a calendar month 1-12, "
                             f"got {self.first_wave_month}")
        if self.waves > self.n_adopters:
            raise ValueError(f"PilotDesign: {self.waves} waves need at least {self.waves} adopters, "
                             f"got n_adopters={self.n_adopters}")
        if self.strata is not None and self.strata not in STRATA:
            raise ValueError(f"PilotDesign.strata: expected one of {STRATA} or None, got {self.strata!r}")
        if self.eligible is not None:
            object.__setattr__(self, "eligible", tuple(str(code) for code in self.eligible))

    @property
    def n_months(self) -> int:
        """Length of the simulated panel in months."""
        return self.months_before + (self.waves - 1) * self.wave_gap_months + self.months_after

    @property
    def wave_starts(self) -> tuple[int, ...]:
        """0-based month position at which each wave adopts."""
        return tuple(self.months_before + j * self.wave_gap_months for j in range(self.waves))

    @property
    def wave_sizes(self) -> tuple[int, ...]:
        """Adopters per wave: as equal as possible, earlier waves take the remainder."""
        base, extra = divmod(self.n_adopters, self.waves)
        return tuple(base + (j < extra) for j in range(self.waves))

    def calendar_months(self) -> np.ndarray:
        """Calendar month (1–12) of each simulated month."""
        first = (self.first_wave_month - 1 - self.months_before) % 12
        return (first + np.arange(self.n_months)) % 12 + 1

    def treated_cells(self) -> int:
        """Pemda-months with WFA in force (per unit of outcome, no missing cells)."""
        return sum(size * (self.n_months - start)
                   for size, start in zip(self.wave_sizes, self.wave_starts))


def allocate_to_strata(sizes: pd.Series, n: int) -> pd.Series:
    """``n`` draws allocated to strata proportionally to ``sizes`` (largest remainders; ties to
    the stratum listed first), never more than a stratum holds."""
    sizes = sizes[sizes > 0]
    if n > sizes.sum():
        raise ValueError(f"cannot draw {n} adopters from {int(sizes.sum())} eligible Pemda")
    quota = n * sizes / sizes.sum()
    counts = np.floor(quota).astype(int)
    remainder = (quota - counts).to_numpy()
    order = np.argsort(-remainder, kind="stable")
    short = n - int(counts.sum())
    position = 0
    while short > 0:
        index = order[position % len(order)]
        if counts.iloc[index] < sizes.iloc[index]:
            counts.iloc[index] += 1
            short -= 1
        position += 1
    return counts


def draw_adopters(eligible: np.ndarray, design: PilotDesign, rng: np.random.Generator,
                  strata: np.ndarray | None = None) -> np.ndarray:
    """Adopters of one draw and their wave, as an ``n_adopters x 2`` integer array (column 0:
    Pemda index, taken from ``eligible``; column 1: wave, 0-based).

    ``eligible``: Pemda indices that may adopt; ``strata``: their stratum labels (same order;
    required when the design is stratified, missing labels form a stratum of their own).
    Within each stratum the Pemda are taken in a random order, so for the same generator state
    a larger pilot contains the smaller one.
    """
    eligible = np.asarray(eligible)
    if design.n_adopters > len(eligible):
        raise ValueError(f"PilotDesign.n_adopters={design.n_adopters} exceeds the "
                         f"{len(eligible)} Pemda eligible to adopt")
    if design.strata is None:
        chosen = eligible[rng.permutation(len(eligible))[: design.n_adopters]]
    else:
        if strata is None or len(strata) != len(eligible):
            raise ValueError(f"PilotDesign.strata={design.strata!r}: give one stratum label per eligible Pemda")
        labels = pd.Series(strata, dtype="string").fillna("<missing>").to_numpy()
        keys, index = np.unique(labels, return_inverse=True)
        sizes = pd.Series(np.bincount(index, minlength=len(keys)), index=keys)
        counts = allocate_to_strata(sizes, design.n_adopters)
        chosen = np.concatenate([
            eligible[index == position][rng.permutation(int(sizes[key]))[: int(counts.get(key, 0))]]
            for position, key in enumerate(keys)])
        chosen = chosen[rng.permutation(len(chosen))]
    waves = np.repeat(np.arange(design.waves), design.wave_sizes)
    return np.column_stack([chosen, waves])
