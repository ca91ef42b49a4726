"""Tests of the synthetic dataset generator (analysis.simulate), on the `small` size."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main as cli_main
from analysis.simulate import DATASET_FILES, ensure_dataset, simulate_dataset
from analysis.simulate.truth import service_estimand_truth
from analysis.simulate.calibration import (
    CALIBRATION,
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    SERVICE_TYPES,
)
from analysis.simulate.services import wfa_log_effect

SEED = 7
CONTRACT_COLUMNS = {
    "regions": ["region_code", "name", "level", "province_code", "population", "area_km2",
                "spbe_index", "asn_count", "ekinerja_daily"],
    "service_requests": ["request_id", "region_code", "service_type", "submitted_at",
                         "completed_at", "units_involved", "channel", "sla_days", "applicant_nik"],
    "budget": ["region_code", "period", "account_code", "category", "budget_idr", "realized_idr"],
    "transfers": ["region_code", "period", "tkd_idr"],
    "truth_service_cells": ["region_code", "month", "service_type", "units", "n_requests",
                            "log_effect_median"],
    "truth_budget_cells": ["region_code", "period", "category", "realized_idr",
                           "counterfactual_idr", "log_effect"],
}
MONTHS = [f"{y}-{m:02d}" for y in range(2023, 2027) for m in range(1, 13)][:46]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return simulate_dataset(tmp_path_factory.mktemp("sim") / "small", seed=SEED, size="small")


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory) -> Path:
    """The registry_only scenario, made through the command line."""
    out = tmp_path_factory.mktemp("sim") / "registry"
    code = cli_main(["simulate", "--out", str(out), "--seed", str(SEED), "--size", "small",
                     "--scenario", "registry_only"])
    assert code == 0
    return out


def _csv(data_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / f"{table}.csv", dtype={"region_code": str, "province_code": str,
                                                          "account_code": str})


def _truth(data_dir: Path) -> dict:
    return json.loads((data_dir / "truth.json").read_text(encoding="utf-8"))


def _tkd_cut_share(data_dir: Path) -> pd.Series:
    transfers = _csv(data_dir, "transfers")
    jan_oct = transfers[transfers["period"].str[5:7].astype(int) <= 10]
    by_year = jan_oct.assign(year=jan_oct["period"].str[:4]).pivot_table(
        index="region_code", columns="year", values="tkd_idr", aggfunc="sum")
    return 1.0 - by_year["2026"] / by_year["2025"]


def _routine_log_spending(data_dir: Path) -> pd.DataFrame:
    """log of routine spending per Pemda (rows) and month (columns), from budget.csv."""
    budget = _csv(data_dir, "budget")
    routine = budget[budget["category"].isin(ROUTINE_CATEGORIES)]
    total = routine.groupby(["region_code", "period"])["realized_idr"].sum()
    return np.log(total).unstack("period")


def _routine_truth_cells(data_dir: Path) -> pd.DataFrame:
    cells = pd.read_parquet(data_dir / "truth_budget_cells.parquet")
    routine = cells[cells["category"].isin(ROUTINE_CATEGORIES)]
    sums = routine.groupby(["region_code", "period"])[["realized_idr", "counterfactual_idr"]].sum()
    sums["log_effect"] = np.log(sums["realized_idr"] / sums["counterfactual_idr"])
    return sums.reset_index()


# --- shape of the data ---------------------------------------------------------------------

def test_every_file_is_written(data_dir):
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(DATASET_FILES)


def test_columns_exactly_per_contract(data_dir):
    for table, columns in CONTRACT_COLUMNS.items():
        if table.startswith("truth") or table == "service_requests":
            frame = pd.read_parquet(data_dir / f"{table}.parquet")
        else:
            frame = _csv(data_dir, table)
        assert list(frame.columns) == columns, table
    policies = pd.read_csv(data_dir / "policies.csv", dtype=str, keep_default_na=False)
    reference = pd.read_csv(Path(__file__).parents[1] / "data/reference/policies.csv", dtype=str,
                            keep_default_na=False)
    assert list(policies.columns) == list(reference.columns)


def test_all_552_pemda_and_every_month(data_dir):
    regions = _csv(data_dir, "regions")
    assert len(regions) == 552 and regions["region_code"].is_unique
    assert regions["level"].value_counts().to_dict() == {"kabupaten": 416, "kota": 98, "provinsi": 38}
    for table in ("budget", "transfers"):
        frame = _csv(data_dir, table)
        assert set(frame["region_code"]) == set(regions["region_code"]), table
        assert sorted(frame["period"].unique()) == MONTHS, table
    requests = pd.read_parquet(data_dir / "service_requests.parquet")
    assert set(requests["region_code"]) <= set(regions["region_code"])
    assert requests["region_code"].nunique() >= 540
    months = requests["submitted_at"].dt.strftime("%Y-%m")
    assert sorted(months.unique()) == MONTHS
    assert requests["submitted_at"].max() < pd.Timestamp("2026-10-31")
    assert requests["completed_at"].max() < pd.Timestamp("2026-10-31")
    assert 150_000 <= len(requests) <= 300_000


def test_service_request_values(data_dir):
    requests = pd.read_parquet(data_dir / "service_requests.parquet")
    assert requests["request_id"].is_unique
    assert set(requests["service_type"]) == set(SERVICE_TYPES)
    assert set(requests["channel"]) == {"online", "loket"}
    assert (requests["units_involved"] >= 1).all() and (requests["units_involved"] > 1).any()
    assert (requests["sla_days"] > 0).all()
    done = requests.dropna(subset=["completed_at"])
    days = (done["completed_at"] - done["submitted_at"]).dt.total_seconds() / 86_400
    assert (days > 0).all()
    # right tails: the 99th percentile is far above the median, the mean above the median
    quantiles = days.groupby(done["service_type"]).quantile([0.5, 0.99]).unstack()
    assert (quantiles[0.99] > 4 * quantiles[0.5]).all()
    assert (days.groupby(done["service_type"]).mean() > quantiles[0.5]).all()
    # adminduk mostly same day, perizinan slower, cross-unit slower
    medians = days.groupby(done["service_type"]).median()
    assert medians["adminduk"] < 1 < medians["perizinan"]
    cross = done["units_involved"] > 1
    assert days[cross].median() > days[~cross].median()


def test_applicant_nik_is_fake_and_sometimes_missing(data_dir):
    nik = pd.read_parquet(data_dir / "service_requests.parquet", columns=["applicant_nik"])["applicant_nik"]
    assert 0.01 < nik.isna().mean() < 0.06
    present = nik.dropna()
    assert present.str.fullmatch(r"\d{16}").all()
    assert (present.str[-4:] == "0000").all()     # serial 0000: never a valid NIK


def test_regions_optional_columns_calibrated(data_dir):
    regions = _csv(data_dir, "regions")
    assert regions["spbe_index"].between(1, 5).all()
    assert 2.8 < regions["spbe_index"].mean() < 3.2
    by_level = regions.groupby("level")["spbe_index"].mean()
    assert by_level["kota"] > by_level["kabupaten"]
    papua = regions["province_code"].isin(["91", "92", "93", "94", "95", "96"])
    assert regions.loc[papua, "spbe_index"].mean() < regions.loc[~papua, "spbe_index"].mean()
    assert regions.loc[regions["region_code"] == "17", "asn_count"].item() == 10_275
    assert abs(regions["asn_count"].mean() - 6_700) < 100
    assert set(regions["ekinerja_daily"]) == {True, False}
    assert 0.3 < regions["ekinerja_daily"].mean() < 0.5
    ek = regions.groupby("ekinerja_daily")["spbe_index"].mean()
    assert ek[True] > ek[False]


def test_censoring_rises_toward_extraction(data_dir):
    requests = pd.read_parquet(data_dir / "service_requests.parquet",
                               columns=["submitted_at", "completed_at"])
    open_share = requests["completed_at"].isna().groupby(
        requests["submitted_at"].dt.strftime("%Y-%m")).mean()
    assert open_share["2026-10"] > open_share["2026-08"] > open_share["2025-10"]
    assert open_share["2026-10"] > 0.1
    assert open_share[:"2025-12"].mean() < 0.01


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_same_bytes(data_dir, tmp_path):
    again = simulate_dataset(tmp_path / "again", seed=SEED, size="small")
    for name in DATASET_FILES:
        first = hashlib.sha256((data_dir / name).read_bytes()).hexdigest()
        second = hashlib.sha256((again / name).read_bytes()).hexdigest()
        assert first == second, name


# --- adoption ---------------------------------------------------------------------------------

def test_policies_registry_plus_simulated_waves(data_dir, registry_dir):
    reference = pd.read_csv(Path(__file__).parents[1] / "data/reference/policies.csv", dtype=str,
                            keep_default_na=False)
    policies = pd.read_csv(data_dir / "policies.csv", dtype=str, keep_default_na=False)
    assert policies.iloc[: len(reference)].equals(reference)
    simulated = policies.iloc[len(reference):]
    assert (simulated["source"] == "simulated").all() and (simulated["confidence"] == "simulated").all()
    assert 40 <= len(simulated) <= 80
    assert set(simulated["start_date"].str[:7]) == set(CALIBRATION.adoption.waves)
    assert set(simulated["wfa_days_per_week"]) == {"1", "2", "3"}
    assert not set(simulated["region_code"]) & set(reference["region_code"])
    only = pd.read_csv(registry_dir / "policies.csv", dtype=str, keep_default_na=False)
    assert only.equals(reference)
    assert {a["origin"] for a in _truth(registry_dir)["adopters"]} == {"registry"}
    assert len(_truth(registry_dir)["adopters"]) == 7


def test_registry_treatment_timing(data_dir):
    adopters = {a["region_code"]: a for a in _truth(data_dir)["adopters"]}
    assert adopters["73"]["cohort"] == "2025-03"
    assert adopters["32"]["cohort"] == "2025-11" and adopters["32"]["end"] is None
    assert adopters["33.72"]["cohort"] == "2026-01" and adopters["33.72"]["end"] == "2026-01"
    for code in ("17", "71.11", "32.14", "17.09"):
        assert adopters[code]["cohort"] == "2026-01"
    cells = pd.read_parquet(data_dir / "truth_budget_cells.parquet")
    assert set(cells.loc[cells["region_code"] == "33.72", "period"]) == {"2026-01"}
    jabar = set(cells.loc[cells["region_code"] == "32", "period"])
    assert "2025-11" in jabar and "2025-12" not in jabar and "2026-10" in jabar


def test_adopters_have_larger_tkd_cuts(data_dir, registry_dir):
    for directory in (data_dir, registry_dir):
        cut = _tkd_cut_share(directory)
        adopters = {a["region_code"] for a in _truth(directory)["adopters"]}
        is_adopter = cut.index.isin(adopters)
        assert cut[is_adopter].mean() > cut[~is_adopter].mean() + 0.03
    cut = _tkd_cut_share(data_dir)
    transfers = _csv(data_dir, "transfers")
    national = transfers[transfers["period"].str[5:7].astype(int) <= 10].groupby(
        transfers["period"].str[:4])["tkd_idr"].sum()
    assert 0.17 < 1 - national["2026"] / national["2025"] < 0.26   # notes: -19.8 % to -24.7 %
    assert cut.between(0.0, 0.5).all()


# --- truth ------------------------------------------------------------------------------------

def test_service_truth_file_is_consistent(data_dir):
    truth = _truth(data_dir)["service_time"]
    cells = pd.read_parquet(data_dir / "truth_service_cells.parquet")
    assert set(cells["units"]) == {"single", "cross", "all"}
    all_rows = cells[cells["units"] == "all"]
    assert truth["att_log_median_days"] == pytest.approx(all_rows["log_effect_median"].mean())
    for service, value in truth["by_service_type"].items():
        assert value == pytest.approx(
            all_rows.loc[all_rows["service_type"] == service, "log_effect_median"].mean())
    for units in ("single", "cross"):
        assert truth["by_group"]["units"][units] == pytest.approx(
            cells.loc[cells["units"] == units, "log_effect_median"].mean())
    # "all" cells count every request of its single and cross cells
    parts = cells[cells["units"] != "all"].groupby(["region_code", "month", "service_type"])["n_requests"].sum()
    whole = all_rows.set_index(["region_code", "month", "service_type"])["n_requests"]
    assert parts.sort_index().equals(whole.sort_index())
    assert 0.03 < truth["att_log_median_days"] < 0.15
    assert truth["att_log_median_days_request_weighted"] == pytest.approx(
        np.average(all_rows["log_effect_median"], weights=all_rows["n_requests"]))
    # the estimand-truth function over every treated cell gives the documented quantities back
    assert service_estimand_truth(all_rows.drop(columns="units"), cells) == pytest.approx(truth["att_log_median_days"])
    assert service_estimand_truth(all_rows, cells, weights="n_requests") == pytest.approx(
        truth["att_log_median_days_request_weighted"])


def test_budget_truth_file_is_consistent(data_dir):
    truth = _truth(data_dir)["budget"]
    routine = _routine_truth_cells(data_dir)
    assert truth["att_log_routine_spending"] == pytest.approx(routine["log_effect"].mean())
    assert truth["savings_idr_total"] == int((routine["counterfactual_idr"] - routine["realized_idr"]).sum())
    assert truth["savings_idr_total"] > 0
    cells = pd.read_parquet(data_dir / "truth_budget_cells.parquet")
    for category in PLACEBO_CATEGORIES:
        assert truth["att_log_by_category"][category] == 0.0
        placebo = cells[cells["category"] == category]
        assert (placebo["realized_idr"] == placebo["counterfactual_idr"]).all()
    assert truth["att_log_by_category"]["listrik"] < truth["att_log_by_category"]["air"] < 0
    # realized_idr in the truth cells equals what budget.csv says
    budget = _csv(data_dir, "budget")
    by_category = budget.groupby(["region_code", "period", "category"])["realized_idr"].sum()
    merged = cells.set_index(["region_code", "period", "category"])["realized_idr"]
    assert by_category.loc[merged.index].equals(merged)


def test_cross_unit_and_low_spbe_cells_have_larger_effects(data_dir):
    cells = pd.read_parquet(data_dir / "truth_service_cells.parquet")
    regions = _csv(data_dir, "regions").set_index("region_code")
    wide = cells[cells["units"] != "all"].pivot_table(
        index=["region_code", "month", "service_type"], columns="units", values="log_effect_median")
    paired = wide.dropna()
    assert (paired["cross"] > paired["single"]).all()
    all_rows = cells[cells["units"] == "all"].join(regions, on="region_code")
    low = all_rows.loc[all_rows["spbe_index"] < 2.6, "log_effect_median"].mean()
    high = all_rows.loc[all_rows["spbe_index"] >= 3.5, "log_effect_median"].mean()
    assert low > high + 0.02
    no_ek = all_rows.loc[~all_rows["ekinerja_daily"], "log_effect_median"].mean()
    ek = all_rows.loc[all_rows["ekinerja_daily"], "log_effect_median"].mean()
    assert no_ek > ek + 0.02
    by_service = all_rows.groupby("service_type")["log_effect_median"].mean()
    assert by_service["adminduk"] < by_service["perizinan"] / 2


def test_wfa_effect_magnitudes_for_two_days():
    effect = CALIBRATION.service_effect
    perizinan = np.array([0, 0])
    worst, best = wfa_log_effect(perizinan, np.array([1.5, 4.5]), np.array([True, False]),
                                 np.array([False, True]), np.array([2, 2]), np.array([24, 24]), effect)
    assert 0.22 < worst < 0.27          # +25-30 %
    assert 0 <= best < 0.02             # near zero
    one, two, three = wfa_log_effect(np.zeros(3, int), np.full(3, 2.5), np.ones(3, bool),
                                     np.zeros(3, bool), np.array([1, 2, 3]), np.full(3, 24), effect)
    assert one < two < three and two == pytest.approx(2 * one)
    first, later = wfa_log_effect(np.zeros(2, int), np.full(2, 2.5), np.ones(2, bool),
                                  np.zeros(2, bool), np.array([2, 2]), np.array([0, 6]), effect)
    assert first < later
    assert wfa_log_effect(np.zeros(1, int), np.array([2.0]), np.array([True]), np.array([False]),
                          np.array([0]), np.array([-1]), effect)[0] == 0.0


# --- the confounding design -------------------------------------------------------------------

def test_naive_before_after_overstates_savings(data_dir):
    """Adopters' routine spending in WFA months vs the same months a year earlier: the TKD cut
    and the Inpres 1/2025 efficiency drive make the naive saving much larger than the truth."""
    log_spending = _routine_log_spending(data_dir)
    truth_cells = _routine_truth_cells(data_dir)
    post = truth_cells[truth_cells["period"] >= "2026-01"]
    naive = [log_spending.loc[r, p] - log_spending.loc[r, f"{int(p[:4]) - 1}{p[4:]}"]
             for r, p in zip(post["region_code"], post["period"])]
    assert np.mean(naive) < post["log_effect"].mean() - 0.1
    naive_rupiah = sum(np.exp(log_spending.loc[r, f"{int(p[:4]) - 1}{p[4:]}"]) - np.exp(log_spending.loc[r, p])
                       for r, p in zip(post["region_code"], post["period"]))
    true_rupiah = (post["counterfactual_idr"] - post["realized_idr"]).sum()
    assert naive_rupiah > 2 * true_rupiah > 0


def test_conditioning_on_tkd_cut_removes_the_bias(data_dir):
    """Change in log routine spending, Sep-Oct 2026 vs Sep-Oct 2025, regressed on treatment: the
    unadjusted difference overstates savings; adding tkd_cut_share recovers the truth."""
    log_spending = _routine_log_spending(data_dir)
    change = (log_spending[["2026-09", "2026-10"]].mean(axis=1)
              - log_spending[["2025-09", "2025-10"]].mean(axis=1)).drop("73")  # Sulsel: treated in 2025
    truth_cells = _routine_truth_cells(data_dir)
    in_force = truth_cells[truth_cells["period"].isin(["2026-09", "2026-10"])]
    months_treated = in_force.groupby("region_code").size()
    treated = change.index.isin(months_treated.index[months_treated == 2])
    cut = _tkd_cut_share(data_dir).reindex(change.index).to_numpy()
    ones = np.ones(len(change))
    adjusted = np.linalg.lstsq(np.column_stack([ones, treated, cut]), change.to_numpy(), rcond=None)[0][1]
    unadjusted = np.linalg.lstsq(np.column_stack([ones, treated]), change.to_numpy(), rcond=None)[0][1]
    truth = in_force.loc[in_force["region_code"].isin(change.index[treated]), "log_effect"].mean()
    assert unadjusted < truth - 0.03
    assert adjusted == pytest.approx(truth, abs=0.025)


def test_tkd_cut_moves_placebo_spending_linearly_in_the_observed_cut_share():
    """What the placebo test relies on: the only adoption-correlated force on street lighting and
    maintenance is the TKD cut, and it is exactly -elasticity x tkd_cut_share from January 2026
    (no nonlinearity, no other variable, no other start), so conditioning on the covariate
    ``tkd_cut_share`` removes it."""
    from dataclasses import replace

    from analysis.simulate.budget import expected_spending
    from analysis.simulate.calibration import BUDGET_CATEGORIES

    cal = CALIBRATION.budget
    regions = pd.DataFrame({"region_code": ["a", "b", "c"], "level": "kabupaten", "population": 3e5})
    level = np.ones((3, len(BUDGET_CATEGORIES)))
    cut = np.array([0.05, 0.2, 0.45])
    months = ["2025-11", "2025-12", "2026-01", "2026-06", "2026-10"]
    no_cut = replace(cal, tkd_cut_elasticity={k: 0.0 for k in BUDGET_CATEGORIES})
    gap = (np.log(expected_spending(regions, level, cut, months, cal))
           - np.log(expected_spending(regions, level, cut, months, no_cut)))
    after = np.array([m >= cal.tkd_cut_start for m in months])
    for k, category in enumerate(BUDGET_CATEGORIES):
        want = -cal.tkd_cut_elasticity[category] * cut[:, None] * after[None, :]
        np.testing.assert_allclose(gap[:, :, k], want, atol=1e-12, err_msg=category)


def test_placebo_spending_is_confounded_by_the_cut_and_not_after_conditioning(data_dir):
    """Change in log placebo spending, Jan-Oct 2026 vs Jan-Oct 2025, regressed on being a 2026
    adopter: without ``tkd_cut_share`` adopters' placebo spending falls more (their cuts are
    larger); with it the adopter coefficient is 0 within 3 standard errors."""
    budget = _csv(data_dir, "budget")
    cohorts = {a["region_code"]: a["cohort"] for a in _truth(data_dir)["adopters"]}
    cut = _tkd_cut_share(data_dir)
    for category in PLACEBO_CATEGORIES:
        rows = budget[(budget["category"] == category) & (budget["period"].str[5:7].astype(int) <= 10)]
        yearly = np.log(rows.assign(year=rows["period"].str[:4]).pivot_table(
            index="region_code", columns="year", values="realized_idr", aggfunc="sum"))
        change = (yearly["2026"] - yearly["2025"]).drop([c for c, m in cohorts.items() if m < "2026-01"])
        adopter = change.index.isin([c for c, m in cohorts.items() if m >= "2026-01"]).astype(float)
        ones = np.ones(len(change))

        def coefficient(design):
            beta, *_ = np.linalg.lstsq(design, change.to_numpy(), rcond=None)
            resid = change.to_numpy() - design @ beta
            cov = resid @ resid / (len(resid) - design.shape[1]) * np.linalg.inv(design.T @ design)
            return beta[1], np.sqrt(cov[1, 1])

        unadjusted, se_unadjusted = coefficient(np.column_stack([ones, adopter]))
        adjusted, se_adjusted = coefficient(np.column_stack([ones, adopter, cut.reindex(change.index)]))
        assert unadjusted < -3 * se_unadjusted, category
        assert abs(adjusted) < 3 * se_adjusted, (category, adjusted, se_adjusted)


# --- ensure_dataset and safety ----------------------------------------------------------------

def test_ensure_dataset_reuses_a_matching_dataset(registry_dir, tmp_path):
    stamp = (registry_dir / "service_requests.parquet").stat().st_mtime_ns
    same = ensure_dataset(registry_dir, size="small", seed=SEED, scenario="registry_only")
    assert same == registry_dir
    assert (registry_dir / "service_requests.parquet").stat().st_mtime_ns == stamp
    other = tmp_path / "copy"
    other.mkdir()
    for name in DATASET_FILES:
        (other / name).write_bytes((registry_dir / name).read_bytes())
    ensure_dataset(other, size="small", seed=SEED + 1, scenario="registry_only")
    assert json.loads((other / "dataset.json").read_text())["seed"] == SEED + 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".copy.tmp")]


def test_refuses_to_overwrite_a_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing"):
        simulate_dataset(tmp_path, size="small")
    with pytest.raises(ValueError, match="scenario"):
        simulate_dataset(tmp_path / "x", scenario="nope")
    assert cli_main(["simulate", "--out", str(tmp_path), "--size", "small"]) == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_incomplete_dataset_is_not_current(registry_dir, tmp_path):
    from analysis.simulate.dataset import dataset_metadata, is_current

    copy = tmp_path / "partial"
    copy.mkdir()
    for name in DATASET_FILES:
        (copy / name).write_bytes((registry_dir / name).read_bytes())
    wanted = dataset_metadata(seed=SEED, scenario="registry_only", size="small",
                              extracted_at=pd.Timestamp("2026-10-31").date())
    assert is_current(copy, wanted)
    assert not is_current(copy, {**wanted, "size": "default"})
    (copy / "truth.json").unlink()
    assert not is_current(copy, wanted)


def test_failed_run_leaves_the_old_dataset_and_no_temporary_files(registry_dir, tmp_path, monkeypatch):
    import analysis.simulate.dataset as dataset_module

    target = tmp_path / "kept"
    target.mkdir()
    for name in DATASET_FILES:
        (target / name).write_bytes((registry_dir / name).read_bytes())

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dataset_module, "read_registry", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate_dataset(target, seed=SEED + 2, size="small")
    assert json.loads((target / "dataset.json").read_text())["seed"] == SEED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
