"""Central transfers (TKD) per Pemda and month, with the 2026 cut.

Each Pemda's 2026 TKD is its 2025 TKD times ``1 - tkd_cut_share``, and every year uses the same
monthly disbursement shape, so ``tkd_cut_share`` is recovered exactly from the written
``transfers`` table as ``1 - TKD(Jan-Oct 2026) / TKD(Jan-Oct 2025)`` (any common set of months).
It is fixed before any 2026 adoption (announced Aug-Sep 2025): a pre-treatment covariate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.calibration import TransferCalibration


def simulate_cut_shares(regions: pd.DataFrame, tkd_2025_idr: np.ndarray, registry_codes: set[str],
                        rng: np.random.Generator, cal: TransferCalibration) -> np.ndarray:
    """2026 TKD cut as a share of 2025 TKD, per region (order of ``regions``)."""
    n = len(regions)
    share = np.clip(rng.normal(cal.cut_share_mean, cal.cut_share_sd, n), *cal.cut_share_bounds)
    for i, code in enumerate(regions["region_code"]):
        if code in cal.reported_cut_billion:
            reported = cal.reported_cut_billion[code] * 1e9 / tkd_2025_idr[i]
            share[i] = np.clip(reported, *cal.registry_cut_bounds)
        elif code in registry_codes:
            share[i] = cal.registry_cut_default
    return np.round(share, 4)


def simulate_tkd_2025(regions: pd.DataFrame, rng: np.random.Generator,
                      cal: TransferCalibration) -> np.ndarray:
    """Annual 2025 TKD per region, Rupiah: provinces share ``provinces_share_of_tkd`` of the
    national 2025 total, allocated like kab/kota in proportion to population^elasticity with
    log-normal noise."""
    is_province = regions["level"].to_numpy() == "provinsi"
    weight = regions["population"].to_numpy(dtype="float64") ** cal.tkd_pop_elasticity
    weight *= np.exp(rng.normal(0.0, cal.tkd_pemda_noise_sd, len(regions)))
    total = cal.tkd_total_trillion[2025] * 1e12
    tkd = np.empty(len(regions))
    tkd[is_province] = total * cal.provinces_share_of_tkd * weight[is_province] / weight[is_province].sum()
    tkd[~is_province] = (total * (1 - cal.provinces_share_of_tkd)
                         * weight[~is_province] / weight[~is_province].sum())
    return tkd


def transfers_table(regions: pd.DataFrame, tkd_2025_idr: np.ndarray, cut_share: np.ndarray,
                    months: list[str], cal: TransferCalibration) -> pd.DataFrame:
    """Monthly TKD (``region_code``, ``period``, ``tkd_idr`` integer Rupiah) for ``months``.
    2023 and 2024 follow the national totals relative to 2025; 2026 = 2025 x (1 - cut share)."""
    shape = np.asarray(cal.monthly_shape) / np.sum(cal.monthly_shape)
    codes = regions["region_code"].to_numpy()
    frames = []
    for month in months:
        year, mon = int(month[:4]), int(month[5:7])
        if year <= 2025:
            annual = tkd_2025_idr * cal.tkd_total_trillion[year] / cal.tkd_total_trillion[2025]
        else:
            annual = tkd_2025_idr * (1.0 - cut_share)
        frames.append(pd.DataFrame({
            "region_code": codes,
            "period": month,
            "tkd_idr": np.round(annual * shape[mon - 1]).astype("int64"),
        }))
    return pd.concat(frames, ignore_index=True)
