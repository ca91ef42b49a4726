"""Shared constants and helpers of analysis.data.schemas."""

import numpy as np
import pandas as pd

from analysis.data import schemas


def test_spbe_band_edges_are_closed_below():
    labels = schemas.spbe_band([1.0, 1.79, 1.8, 2.6, 3.49, 3.5, 4.2, 5.0, np.nan])
    assert labels.astype(object).tolist()[:8] == ["Kurang", "Kurang", "Cukup", "Baik", "Baik",
                                                  "Sangat Baik", "Memuaskan", "Memuaskan"]
    assert pd.isna(labels.iloc[8])
    assert labels.cat.ordered and list(labels.cat.categories) == [b[0] for b in schemas.SPBE_BANDS]


def test_spbe_band_keeps_a_series_index():
    values = pd.Series([2.0, 4.5], index=["33.72", "17"])
    assert schemas.spbe_band(values).to_dict() == {"33.72": "Cukup", "17": "Memuaskan"}


def test_personal_column_names():
    assert schemas.is_personal_column("service_requests", "nama_pemohon")
    assert schemas.is_personal_column("service_requests", "applicant_name")
    assert schemas.is_personal_column("budget", "no_kk")
    assert not schemas.is_personal_column("regions", "name")
    assert not schemas.is_personal_column("service_requests", "request_id")
    assert not schemas.is_personal_column("budget", "account_code")


def test_category_lists_are_disjoint_and_declared_in_the_contract():
    assert not set(schemas.ROUTINE_CATEGORIES) & set(schemas.PLACEBO_CATEGORIES)
    assert schemas.SERVICE_TYPES == schemas.SERVICE_REQUESTS.column("service_type").allowed
    assert schemas.CHANNELS == schemas.SERVICE_REQUESTS.column("channel").allowed
