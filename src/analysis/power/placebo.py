"""Placebo futures: outcome panels a pilot could see without WFA, made from the observed data.

Method: a seasonal block bootstrap of the pool's two-way residuals, resampled in calendar time
jointly for every Pemda.

1. Residuals. The pool's outcome (Pemda that never had WFA, every observed month) minus its
   Pemda and month fixed effects (exact two-way fit on the observed cells). What is left is what
   a two-way DiD cannot absorb: Pemda-specific noise, its autocorrelation, Pemda-specific
   seasonality and trends, shocks shared by groups of Pemda (a province), and the holes of the
   panel (months without requests).
2. Blocks. The simulated months are cut into consecutive blocks of ``block_months``; each block
   is filled with the residuals of ``block_months`` consecutive observed months, the same source
   months for every Pemda. Consecutive months keep the autocorrelation within a block; taking
   the same source months for all Pemda keeps the correlation across Pemda (e.g. within a
   province) and the pattern of missing cells.
3. Seasons. With ``align_seasons`` a block starting in (say) March is taken from a source block
   starting in a March, so Pemda-specific seasonality (Lebaran, the year-end rush, budget
   back-loading) lands in the right calendar months of the pilot.

The fixed effects are not added back: the imputation estimator (and any estimator with Pemda and
month fixed effects) gives the same estimate and standard error when ``a_i + b_t`` is added to
every cell, so levels and seasonality common to all Pemda cannot change the power.

Why this rather than rolling placebo windows over the observed months: a pilot panel is often
longer than the stretch of history that holds no WFA, and the observed window holds only a few
distinct windows of a given length (a 46-month history has three January-aligned 18-month
windows), so power would rest on a handful of calendar histories. Rolling windows are the special
case ``block_months >= design.n_months`` (one block): use it to check that the block length does
not drive the answer. Limitation: blocks shorter than the panel cut autocorrelation beyond the
block length and turn Pemda-specific trends into level steps between blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BlockBootstrap"]


@dataclass(frozen=True)
class BlockBootstrap:
    """Seasonal block bootstrap of residuals in calendar time (see the module docstring).

    ``block_months``: length of a block in months (the last block of a panel may be shorter);
    ``align_seasons``: source blocks start in the same calendar month as the block they fill.
    """

    block_months: int = 12
    align_seasons: bool = True

    def __post_init__(self):
        if not isinstance(self.block_months, (int, np.integer)) or self.block_months < 1:
            raise ValueError(f"BlockBootstrap.block_months: expected an integer >= 1, "
                             f"got {self.block_months!r}")

    def source_months(self, pool_calendar: np.ndarray, target_calendar: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
        """Positions in the pool's months that fill each simulated month.

        ``pool_calendar`` / ``target_calendar``: calendar month (1–12) of every pool month /
        simulated month. Raises ``ValueError`` when a block has no possible source (the pool is
        shorter than a block, or has no block of that length starting in that calendar month).
        """
        pool_calendar = np.asarray(pool_calendar)
        target_calendar = np.asarray(target_calendar)
        n_pool, n_target = len(pool_calendar), len(target_calendar)
        out = np.empty(n_target, dtype=np.int64)
        for start in range(0, n_target, self.block_months):
            length = min(self.block_months, n_target - start)
            candidates = np.arange(n_pool - length + 1)
            if self.align_seasons:
                candidates = candidates[pool_calendar[candidates] == target_calendar[start]]
            if len(candidates) == 0:
                raise ValueError(
                    f"the outcome pool has {n_pool} months: no block of {length} consecutive "
                    f"months" + (f" starting in calendar month {int(target_calendar[start])}"
                                 if self.align_seasons else "")
                    + "; use a shorter block_months or a shorter design")
            source = rng.choice(candidates)
            out[start:start + length] = np.arange(source, source + length)
        return out
