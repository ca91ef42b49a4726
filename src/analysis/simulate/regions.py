"""Regions: the 552 real Pemda from the reference data, plus the optional columns the
reference lacks (``spbe_index``, ``asn_count``, ``ekinerja_daily``), simulated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.simulate.calibration import SPBE_BANDS, RegionCalibration

PAPUA_PROVINCES = ("91", "92", "93", "94", "95", "96")
MALUKU_PROVINCES = ("81", "82")
BENGKULU_PROVINCE = "17"


def read_reference_regions(path: Path = paths.REGIONS_CSV) -> pd.DataFrame:
    """The reference ``regions.csv`` with codes as text, in file order."""
    return pd.read_csv(path, dtype={"region_code": str, "province_code": str, "name": str, "level": str})


def spbe_band(spbe: np.ndarray | pd.Series) -> np.ndarray:
    """SPBE predicate band (PermenPANRB 59/2020) of each index value."""
    values = np.asarray(spbe, dtype="float64")
    labels = np.array([label for label, _ in SPBE_BANDS], dtype=object)
    bounds = np.array([lower for _, lower in SPBE_BANDS[1:]])
    return labels[np.searchsorted(bounds, values, side="right")]


def simulate_regions(reference: pd.DataFrame, rng: np.random.Generator,
                     cal: RegionCalibration) -> pd.DataFrame:
    """Reference regions with ``spbe_index`` (1-5, 2 decimals), ``asn_count`` (int) and
    ``ekinerja_daily`` (bool) added. Row order and reference columns are unchanged."""
    regions = reference.copy()
    n = len(regions)
    level = regions["level"].to_numpy()
    province = regions["province_code"].to_numpy()
    population = regions["population"].to_numpy(dtype="float64")

    shift = np.where(level == "provinsi", cal.spbe_shift_provinsi, 0.0)
    shift += np.where(level == "kota", cal.spbe_shift_kota, 0.0)
    shift += np.where(np.isin(province, PAPUA_PROVINCES), cal.spbe_shift_papua, 0.0)
    shift += np.where(np.isin(province, MALUKU_PROVINCES), cal.spbe_shift_maluku, 0.0)
    spbe = rng.normal(cal.spbe_mean, cal.spbe_sd, n) + shift
    spbe = np.round(np.clip(spbe, *cal.spbe_bounds), 2)

    noise = np.exp(rng.normal(0.0, cal.asn_noise_sd, n))
    is_province = level == "provinsi"
    bengkulu_pop = population[regions["region_code"].to_numpy() == BENGKULU_PROVINCE][0]
    asn = np.where(
        is_province,
        cal.asn_bengkulu_province * (population / bengkulu_pop) ** cal.asn_province_pop_elasticity,
        population ** cal.asn_kabkota_pop_elasticity,
    ) * noise
    asn[regions["region_code"].to_numpy() == BENGKULU_PROVINCE] = cal.asn_bengkulu_province
    # rescale kab/kota so that the mean over all Pemda hits the target, then apply the floor
    kabkota_target = cal.asn_mean_per_pemda * n - asn[is_province].sum()
    asn[~is_province] *= kabkota_target / asn[~is_province].sum()
    asn = np.maximum(np.round(asn), cal.asn_floor).astype("int64")

    logit = cal.ekinerja_intercept + cal.ekinerja_spbe_slope * (spbe - cal.spbe_mean)
    ekinerja = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    regions["spbe_index"] = spbe
    regions["asn_count"] = asn
    regions["ekinerja_daily"] = ekinerja
    return regions
