"""Price deflators: turn nominal Rupiah into Rupiah of one base year.

The bundled default is an annual December-on-December CPI inflation series for Indonesia
(``analysis/resources/cpi_indonesia.csv``; BPS figures, some marked uncertain or assumed, see the
file header). From it a monthly price index is built by geometric interpolation inside each
year: the index of month ``m`` of year ``y`` is ``P(Dec y-1) * (1 + pi_y) ** (m / 12)``.

Real Rupiah of base year ``B`` = nominal Rupiah * (mean monthly index of ``B`` / index of the month).

Note for the DiD: a deflator common to all Pemda is a pure time effect, so it does not change any
estimate on log spending (period effects absorb it); it only changes Rupiah amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import DataContractError

BUNDLED_CPI_CSV = Path(__file__).resolve().parents[1] / "resources" / "cpi_indonesia.csv"


@dataclass(frozen=True)
class Deflator:
    """A monthly price index.

    ``index``: pandas Series indexed by ``YYYY-MM`` strings, dimensionless (December of the year
    before the first year = 1.0). ``source``: where the series came from (for captions).
    ``uncertain_years``: years whose inflation figure is not a verified statistic.
    """

    index: pd.Series
    source: str
    uncertain_years: tuple[int, ...] = ()

    def years(self) -> tuple[int, int]:
        years = self.index.index.str.slice(0, 4).astype(int)
        return int(years.min()), int(years.max())

    def factor_to_base_year(self, periods: pd.Series, base_year: int) -> pd.Series:
        """Multiplicative factor turning nominal Rupiah of each ``YYYY-MM`` period into Rupiah of
        ``base_year`` prices (average price level of that year)."""
        first, last = self.years()
        if not first <= int(base_year) <= last:
            raise DataContractError(
                f"price_base_year {base_year} is outside the deflator's years {first}-{last}"
            )
        base = self.index[self.index.index.str.startswith(f"{int(base_year)}-")].mean()
        months = pd.Series(periods, copy=False).astype(str).str.slice(0, 7)
        missing = sorted(set(months.unique()) - set(self.index.index))
        if missing:
            raise DataContractError(
                f"the deflator ({self.source}) has no price index for periods {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''}; supply a longer series"
            )
        return base / months.map(self.index).astype(float)


def monthly_index_from_annual_inflation(inflation: pd.DataFrame) -> pd.Series:
    """Monthly price index from annual Dec-on-Dec inflation rates.

    ``inflation``: columns ``year`` (int) and ``inflation_yoy_pct`` (percent). Returns a Series
    indexed by ``YYYY-MM`` with December of the year before the first year = 1.0.
    """
    rates = inflation.sort_values("year")
    years = rates["year"].astype(int).to_numpy()
    if len(years) == 0 or np.any(np.diff(years) != 1):
        raise DataContractError("the inflation series must cover consecutive years")
    level = 1.0
    values: dict[str, float] = {}
    for year, pct in zip(years, rates["inflation_yoy_pct"].astype(float)):
        growth = 1.0 + pct / 100.0
        for month in range(1, 13):
            values[f"{year}-{month:02d}"] = level * growth ** (month / 12)
        level *= growth
    return pd.Series(values, name="price_index")


def load_deflator(path: str | Path | None = None) -> Deflator:
    """Read an annual inflation CSV (``year,inflation_yoy_pct[,status]``; ``#`` comment lines
    allowed) and return its monthly :class:`Deflator`. ``None`` = the bundled BPS series."""
    csv_path = Path(path) if path is not None else BUNDLED_CPI_CSV
    table = pd.read_csv(csv_path, comment="#")
    for column in ("year", "inflation_yoy_pct"):
        if column not in table.columns:
            raise DataContractError(f"{csv_path.name}: missing column {column!r}")
    uncertain: tuple[int, ...] = ()
    if "status" in table.columns:
        uncertain = tuple(int(y) for y in table.loc[table["status"] != "bps", "year"])
    source = "BPS CPI inflation (bundled)" if path is None else csv_path.name
    return Deflator(monthly_index_from_annual_inflation(table), source, uncertain)
