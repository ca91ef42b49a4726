"""The brief's context from the dataset itself: the 2026 TKD cut and routine spending the savings
are compared with, and the dataset's provenance (as-of date, source, simulated or not).

- TKD cut per Pemda: the 2025 transfers times the fall from 2025 to 2026 over the calendar months
  observed in both years (``analysis.panels.budget.tkd_covariates``), i.e. the cut in Rupiah per
  year, so a partly observed 2026 is compared like with like.
- Routine spending per Pemda: realized spending of the categories the savings cover, in the
  savings' price base year (both from the savings entry's estimand details).

Both are averaged over the adopters whose savings are estimated (the savings entry's
``sample.treated``), or over every Pemda when the entry lists none (``scope``: ``adopters`` /
``all``).
"""

from __future__ import annotations

import pandas as pd

from analysis.panels.budget import tkd_covariates

#: The year of the TKD cut the brief puts the savings next to.
CUT_YEAR = 2026


def fiscal_context(transfers: pd.DataFrame | None, regions: pd.DataFrame | None, budget: pd.DataFrame | None,
                   savings_entry: dict | None) -> dict:
    """``tkd_cut_idr`` (mean TKD cut per Pemda per year), ``routine_idr`` (mean routine spending
    per Pemda in the base year), ``base_year``, ``n_pemda`` and ``scope`` (module doc); the
    amounts are None when their table is missing."""
    details = ((savings_entry or {}).get("estimand") or {}).get("details") or {}
    adopters = [str(c) for c in ((savings_entry or {}).get("sample") or {}).get("treated") or []]
    scope = "adopters" if adopters else "all"
    out = {"tkd_cut_idr": None, "routine_idr": None, "base_year": details.get("price_base_year"),
           "n_pemda": len(adopters) or None, "scope": scope, "cut_year": CUT_YEAR}
    if transfers is not None and regions is not None and not transfers.empty:
        try:
            cov = tkd_covariates(transfers, regions, cut_year=CUT_YEAR)
        except Exception:  # noqa: BLE001 - no 2025/2026 overlap: the context is simply absent
            cov = None
        if cov is not None and not cov.empty:
            cov = cov[cov["region_code"].isin(adopters)] if adopters else cov
            if not cov.empty:
                out["tkd_cut_idr"] = float((cov["tkd_prev_idr"] * cov["tkd_cut_share"]).mean())
                out["n_pemda"] = out["n_pemda"] or int(len(cov))
    categories = details.get("categories")
    year = details.get("price_base_year")
    if budget is not None and not budget.empty and categories and year:
        rows = budget[budget["category"].isin(categories)
                      & (budget["period"].astype(str).str.slice(0, 4) == str(year))]
        if adopters:
            rows = rows[rows["region_code"].astype(str).isin(adopters)]
        if not rows.empty:
            out["routine_idr"] = float(rows.groupby("region_code")["realized_idr"].sum().mean())
    return out


def share(numerator, denominator) -> float | None:
    """``numerator / denominator`` as a 0-1 share, None when either is missing or the denominator
    is not positive."""
    if numerator is None or denominator is None or not denominator > 0:
        return None
    return float(numerator) / float(denominator)


def dataset_facts(dataset) -> dict:
    """``as_of`` (extraction date, ``YYYY-MM-DD`` or None), ``source`` (``dataset.json``'s
    ``source``, or None) and ``simulated`` (the dataset has truth files)."""
    extracted = getattr(dataset, "extracted_at", None)
    metadata = getattr(dataset, "metadata", None) or {}
    return {"as_of": None if extracted is None else str(pd.Timestamp(extracted).date()),
            "source": metadata.get("source"), "simulated": bool(getattr(dataset, "is_simulated", False))}
