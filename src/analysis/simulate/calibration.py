"""Every calibration constant of the synthetic dataset, in one place.

Each number carries a comment naming its source. "notes §x" refers to the project's
Indonesia context notes (section x); "assumption" marks a value chosen by us where no public
figure was found, with the reasoning. ``data/README.md`` (section "Synthetic data calibration")
repeats this table for readers of the data.

Units: days for completion times, Rupiah for money, log points for effects (an effect of
``0.10`` multiplies the outcome by ``exp(0.10)`` = +10.5 %).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))


#: Names fixed by docs/interfaces.md §1 (``analysis.data.schemas`` will own the shared copies).
SERVICE_TYPES: tuple[str, ...] = ("perizinan", "adminduk", "bansos", "layanan_dasar")
ROUTINE_CATEGORIES: tuple[str, ...] = (
    "listrik", "air", "telepon_internet", "atk", "bbm", "perjalanan_dinas",
)
PLACEBO_CATEGORIES: tuple[str, ...] = ("penerangan_jalan", "pemeliharaan")
BUDGET_CATEGORIES: tuple[str, ...] = ROUTINE_CATEGORIES + PLACEBO_CATEGORIES

#: SPBE predicate bands, PermenPANRB 59/2020 (notes §3.1): (label, lower bound inclusive).
SPBE_BANDS: tuple[tuple[str, float], ...] = (
    ("Kurang", -float("inf")), ("Cukup", 1.8), ("Baik", 2.6), ("Sangat Baik", 3.5), ("Memuaskan", 4.2),
)

SCENARIOS: tuple[str, ...] = ("default", "registry_only")
SIZES: tuple[str, ...] = ("small", "default", "national")

#: Bump when the generator's output changes, so ``ensure_dataset`` regenerates old datasets.
GENERATOR_VERSION = "2"

DEFAULT_SEED = 20260101
DEFAULT_EXTRACTED_AT = dt.date(2026, 10, 31)
FIRST_MONTH = "2023-01"


@dataclass(frozen=True)
class RegionCalibration:
    # SPBE 2024 prior N(3.0, 0.6) truncated to [1, 5]; provinces +0.3, kota +0.15 (notes §3.1,
    # "suggested synthetic prior"; national index 2024 = 3.12). Papua/Maluku lower: notes §3.1
    # says "Papua/Maluku regions lower" without a number; -0.6 / -0.3 is our assumption.
    spbe_mean: float = 3.0
    spbe_sd: float = 0.6
    spbe_shift_provinsi: float = 0.3
    spbe_shift_kota: float = 0.15
    spbe_shift_papua: float = -0.6     # province codes 91-96
    spbe_shift_maluku: float = -0.3    # province codes 81-82
    spbe_bounds: tuple[float, float] = (1.0, 5.0)
    # ASN: ≈6,700 per Pemda on average (3.7 M regional ASN / 552, notes §0 and §3.6);
    # Pemprov Bengkulu 10,275 (notes §3.6) is pinned exactly. Other provinces scale from Bengkulu
    # with population^0.5, kab/kota with population^0.55 and a floor of 1,500 (notes §3.6 prior),
    # then kab/kota are rescaled so the mean over all 552 equals the target.
    asn_mean_per_pemda: float = 6700.0
    asn_bengkulu_province: int = 10275
    asn_province_pop_elasticity: float = 0.5
    asn_kabkota_pop_elasticity: float = 0.55
    asn_floor: int = 1500
    asn_noise_sd: float = 0.15
    # e-Kinerja daily output records: ~40 % of Pemda, more likely with higher SPBE (issue brief;
    # assumption: logit slope 1.5 per SPBE point).
    ekinerja_intercept: float = -0.45
    ekinerja_spbe_slope: float = 1.5


@dataclass(frozen=True)
class TransferCalibration:
    # National TKD totals, Rp trillion. 2025 outlook 864.1 T and APBN 2026 693.0 T (notes §3.4:
    # -19.8 % vs outlook, -24.7 % vs APBN 2025 919.9 T). 2023 and 2024 levels (814.7 T, 857.6 T,
    # APBN figures) are background knowledge, not re-verified (assumption for the pre-period).
    tkd_total_trillion: Mapping[int, float] = field(default_factory=lambda: _frozen(
        {2023: 814.7, 2024: 857.6, 2025: 864.1}))
    provinces_share_of_tkd: float = 0.2     # assumption: provinces get ~1/5 of TKD
    tkd_pop_elasticity: float = 0.5         # assumption: DAU has a large fixed part
    tkd_pemda_noise_sd: float = 0.25
    # 2026 cut share per Pemda ~ N(0.20, 0.06) clipped: national -19.8 % vs 2025 outlook (notes §3.4).
    cut_share_mean: float = 0.20
    cut_share_sd: float = 0.06
    cut_share_bounds: tuple[float, float] = (0.03, 0.45)
    # Reported cuts vs 2025, Rp billion (notes §3.4); turned into a share of the simulated 2025
    # TKD and clipped to [0.15, 0.45]. Registry adopters without a reported figure get 0.30.
    reported_cut_billion: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "17": 347.93, "17.09": 290.5, "33.72": 218.0, "32.14": 388.0, "32": 2430.0}))
    registry_cut_bounds: tuple[float, float] = (0.15, 0.45)
    registry_cut_default: float = 0.30
    # Monthly disbursement shape (DAU monthly, DBH/DAK in quarterly tranches): assumption.
    monthly_shape: tuple[float, ...] = (0.9, 0.9, 1.1, 0.9, 0.9, 1.2, 0.9, 0.9, 1.1, 0.9, 0.9, 1.3)


@dataclass(frozen=True)
class AdoptionCalibration:
    # Default scenario: further adopters in three 2026 waves (assumption; the registry shows a
    # January 2026 wave driven by the TKD cut, notes §3.7, and KemenPANRB had ~299 requests
    # since 2020, notes §3.0). 60 adopters = 11 % of Pemda; most stay untreated.
    waves: Mapping[str, int] = field(default_factory=lambda: _frozen(
        {"2026-03": 15, "2026-06": 25, "2026-09": 20}))
    # Adoption probability: logit = slope * (tkd_cut_share - mean cut); the registry adopters all
    # cite the TKD cut as the reason (notes §3.4, §3.7). Assumption: slope 20 per unit share.
    cut_share_logit_slope: float = 20.0
    # WFA days per week for simulated adopters. PermenPANRB 4/2025 caps location flexibility at
    # 2 days/week (notes §3.0); 3-day schemes exist anyway (Bengkulu Tengah "WFA tiga hari").
    days_probabilities: Mapping[int, float] = field(default_factory=lambda: _frozen(
        {1: 0.35, 2: 0.50, 3: 0.15}))
    weekdays_by_days: Mapping[int, str] = field(default_factory=lambda: _frozen(
        {1: "jumat", 2: "kamis;jumat", 3: "rabu;kamis;jumat"}))


@dataclass(frozen=True)
class ServiceCalibration:
    # Requests per 100,000 residents per month in the `default` size. These are a *sample* of
    # real volumes (adminduk alone is far larger), chosen so `default` has ~2.5 M requests.
    rate_per_100k: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "adminduk": 8.0, "perizinan": 3.5, "bansos": 2.5, "layanan_dasar": 3.5}))
    # Provinces run no adminduk (Disdukcapil is a kab/kota function) and fewer front-line
    # services per resident (their population also counts in their kab/kota): assumption.
    province_rate_factor: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "adminduk": 0.0, "perizinan": 0.15, "bansos": 0.10, "layanan_dasar": 0.15}))
    size_factor: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "small": 0.08, "default": 1.0, "national": 12.0}))
    # Volume seasonality: Ramadan/Lebaran month -20 %, January -10 % (assumption).
    volume_lebaran_month: float = 0.8
    volume_january: float = 0.9
    # --- completion time without WFA (Y0), log-days ---
    # perizinan: simple permits SLA 3-14 days (notes §5, SiCantik v_hari), actual median 0.8 x SLA;
    # PBG share 20 %, SLA 10 days (government target), median 40 days (notes §3.5: developers say
    # "at least 2 months", showcase minutes) -- a heavy right tail.
    perizinan_sla_choices: tuple[int, ...] = (3, 5, 7, 14)
    perizinan_sla_probs: tuple[float, ...] = (0.30, 0.30, 0.25, 0.15)
    perizinan_simple_median_over_sla: float = 0.8
    perizinan_pbg_share: float = 0.20
    perizinan_pbg_sla_days: float = 10.0
    perizinan_pbg_median_days: float = 40.0
    # adminduk: Permendagri 19/2018 target 1 hour / same day (notes §3.5); SLA written as 1 day.
    # Median same day (0.25 days); KTP-el share 30 % with print backlogs: median 2 days, 14 days
    # in blanko-shortage months common to all Pemda (notes §3.5, §5).
    adminduk_sla_days: float = 1.0
    adminduk_median_days: float = 0.25
    adminduk_ktp_share: float = 0.30
    adminduk_ktp_median_days: float = 2.0
    adminduk_ktp_shortage_median_days: float = 14.0
    blanko_shortage_months: tuple[str, ...] = ("2023-08", "2023-09", "2023-10", "2025-06", "2025-07")
    # bansos: Pemda verification lag 7-30 days + central batch (notes §3.5, §5): median 18 days;
    # no statutory standard found, SLA 30 days is an assumption.
    bansos_sla_days: float = 30.0
    bansos_median_days: float = 18.0
    # layanan_dasar (letters, basic-service administration): assumption, SLA 5, median 3 days.
    layanan_dasar_sla_days: float = 5.0
    layanan_dasar_median_days: float = 3.0
    # log-scale spread per service; noise is Student-t (df 4) for heavy tails (assumption).
    log_sd: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "perizinan": 0.7, "adminduk": 0.9, "bansos": 0.5, "layanan_dasar": 0.7}))
    noise_t_df: float = 4.0
    noise_clip: tuple[float, float] = (-4.0, 6.0)   # in units of the log sd
    min_days: float = 5.0 / (24 * 60)               # nothing completes in under 5 minutes
    # cross-unit services: share with units_involved > 1, and +0.2 log per extra unit (assumption,
    # notes §4.3: a technical-team survey adds a unit; PBG needs KKPR from other agencies).
    cross_unit_share: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "perizinan": 0.45, "adminduk": 0.05, "bansos": 0.55, "layanan_dasar": 0.20}))
    log_per_extra_unit: float = 0.2
    max_units: int = 5
    # Pemda effects: N(0, 0.25) per service, and -0.12 log per SPBE point (assumption).
    pemda_effect_sd: float = 0.25
    pemda_spbe_slope: float = -0.12
    # online channel: share 35 % in 2023 rising 6 points a year, +10 points per SPBE point;
    # online requests 10 % faster (assumption).
    online_share_2023: float = 0.35
    online_share_per_year: float = 0.06
    online_share_per_spbe: float = 0.10
    online_log_effect: float = -0.10
    # Calendar effects common to all Pemda (notes §3.0, §3.7): Lebaran +/-10 days +0.35 log,
    # Ramadan weeks (32.5-h weeks) +0.10, 16-31 December +0.15 (year-end), 1-15 January +0.10
    # (APBD start-up), March 2026 national FWA days +0.05 on top; digitalisation trend -0.04/yr.
    lebaran_dates: tuple[str, ...] = ("2023-04-22", "2024-04-10", "2025-03-31", "2026-03-20")
    lebaran_window_days: int = 10
    lebaran_log: float = 0.35
    ramadan_days: int = 30
    ramadan_log: float = 0.10
    year_end_log: float = 0.15
    january_log: float = 0.10
    national_fwa_2026_log: float = 0.05
    trend_log_per_year: float = -0.04
    nik_missing_share: float = 0.03     # applicant NIK missing in 3 % of requests (assumption)


@dataclass(frozen=True)
class ServiceEffectCalibration:
    """True WFA effect on completion time, log points:

    delta = dose(days) x dynamics(months since cohort) x service_scale
            x (floor + spbe_weight x spbe_risk + cross_weight x cross + ekinerja_weight x no_ekinerja)

    with spbe_risk = clip((spbe_risk_zero - spbe) / spbe_risk_span, 0, 1). For 2 days at full
    build-up: 0.01 (high SPBE, e-Kinerja, single unit) to 0.26 = +30 % (low SPBE, cross-unit, no
    e-Kinerja); the average treated perizinan cell is about +10 %. Issue brief: +5-15 % on
    average for 2 days, +25-30 % in the worst risk group, near 0 in the best; adminduk front
    office largely excluded (notes §3.5, policies.csv scope_exclusions) -> scale 0.25.
    """

    floor: float = 0.01
    spbe_weight: float = 0.10
    cross_weight: float = 0.07
    ekinerja_weight: float = 0.08
    spbe_risk_zero: float = 3.6
    spbe_risk_span: float = 1.6
    service_scale: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "perizinan": 1.0, "adminduk": 0.25, "bansos": 0.9, "layanan_dasar": 0.8}))
    # dose = days / reference_days (linear; 2 days = 1)
    reference_days: float = 2.0
    # build-up: dynamics(e) = 1 - buildup_gap * exp(-e / buildup_months), e = months since cohort
    # (0 in the first month): 60 % of the full effect at first, ~90 % after 4 months. Assumption
    # (Bengkulu DPRD expects effects after 4-5 months, notes §3.7).
    buildup_gap: float = 0.4
    buildup_months: float = 3.0


@dataclass(frozen=True)
class BudgetCalibration:
    # Office electricity ("listrik") per month, Rupiah: kab/kota Rp0.3-1.0 bn, province
    # Rp1-3 bn (notes §3.3, §5; Purwakarta 1.06 M pop ≈ Rp905 juta/month), scaling with
    # population^0.6 around the median kab/kota (0.31 M, notes §0), log-normal across Pemda.
    listrik_kabkota_median_idr: float = 6.0e8
    listrik_province_median_idr: float = 1.8e9
    median_kabkota_population: float = 310_000.0
    median_province_population: float = 3_500_000.0
    pop_elasticity: float = 0.6
    pemda_cost_sd: float = 0.3
    # other categories relative to listrik (assumption; PJU is large, notes §3.3 Tasikmalaya
    # ≈Rp23 bn/yr ≈ 3 x office electricity of a kabupaten).
    level_vs_listrik: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "listrik": 1.0, "air": 0.12, "telepon_internet": 0.2, "atk": 0.35, "bbm": 0.5,
        "perjalanan_dinas": 1.2, "penerangan_jalan": 1.5, "pemeliharaan": 1.5}))
    # Accounts per category (Permendagri 90/2019, notes §4.2) and their share of the category.
    # penerangan_jalan (PJU) is booked on the electricity object in reality; .0062 is a synthetic
    # stand-in so that the account key stays unique (documented in data/README.md).
    accounts: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=lambda: _frozen({
        "listrik": (("5.1.02.02.01.0061", 1.0),),
        "air": (("5.1.02.02.01.0060", 1.0),),
        "telepon_internet": (("5.1.02.02.01.0059", 0.4), ("5.1.02.02.01.0063", 0.6)),
        "atk": (("5.1.02.01.01.0024", 0.6), ("5.1.02.01.01.0025", 0.4)),
        "bbm": (("5.1.02.01.01.0004", 1.0),),
        "perjalanan_dinas": (("5.1.02.04.01.0001", 0.7), ("5.1.02.04.01.0003", 0.3)),
        "penerangan_jalan": (("5.1.02.02.01.0062", 1.0),),
        "pemeliharaan": (("5.1.02.03", 1.0),),
    }))
    # Monthly noise sd (log), per category (assumption).
    noise_sd: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "listrik": 0.05, "air": 0.08, "telepon_internet": 0.04, "atk": 0.20, "bbm": 0.10,
        "perjalanan_dinas": 0.20, "penerangan_jalan": 0.05, "pemeliharaan": 0.25}))
    # Realisation shape within the year (mean 1). Utilities: January bills paid late (APBD
    # start-up), caught up in February. Discretionary spending: back-loaded with the December
    # APBD realisation spike (notes §3.2: H1 realisation far below half for barang & jasa).
    utility_month_shape: tuple[float, ...] = (
        0.75, 1.15, 1.0, 1.0, 1.02, 1.0, 0.98, 1.0, 1.02, 1.03, 1.0, 1.05)
    discretionary_month_shape: tuple[float, ...] = (
        0.35, 0.6, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0, 1.05, 1.1, 1.25, 2.0)
    utility_categories: tuple[str, ...] = ("listrik", "air", "telepon_internet", "penerangan_jalan")
    # Inflation 2.5 %/yr (Bank Indonesia target 2.5 ± 1 %; assumption), compounding monthly.
    inflation_per_year: float = 0.025
    # Inpres 1/2025 efficiency from Feb 2025 in ALL Pemda (notes §3.2, §5): travel -50 %,
    # ATK large (Kemendagri -90 %; we use -40 %), maintenance -10 %, others small. A common shock.
    inpres_start: str = "2025-02"
    inpres_log: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "listrik": -0.03, "air": -0.03, "telepon_internet": -0.02, "atk": -0.51, "bbm": -0.10,
        "perjalanan_dinas": -0.69, "penerangan_jalan": 0.0, "pemeliharaan": -0.11}))
    # 2026 TKD cut: log spending falls by elasticity x tkd_cut_share from January 2026
    # (assumption; discretionary items are cut first). This is the confounder.
    tkd_cut_start: str = "2026-01"
    tkd_cut_elasticity: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "listrik": 0.6, "air": 0.6, "telepon_internet": 0.4, "atk": 1.5, "bbm": 1.0,
        "perjalanan_dinas": 2.0, "penerangan_jalan": 0.5, "pemeliharaan": 1.5}))
    # True WFA effect at 2 days/week, log points (dose linear in days/2). Issue brief: listrik
    # -5 to -15 % for 2 days; notes §5: -5 to -15 % per day, claims of -20/-32 % are upper bounds
    # (we stay conservative); water ≈ half of electricity, internet ≈ 0 (notes §5); ATK, BBM,
    # travel modest (Jabar 2023 travel -30 % in some OPD is before/after, notes §3.7).
    wfa_log_effect: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "listrik": -0.12, "air": -0.06, "telepon_internet": 0.0, "atk": -0.05, "bbm": -0.06,
        "perjalanan_dinas": -0.04, "penerangan_jalan": 0.0, "pemeliharaan": 0.0}))
    wfa_pemda_scale_sd: float = 0.2     # Pemda heterogeneity of the budget effect (log-normal)
    # Annual appropriation (budget_idr) = expected annual counterfactual x 1.08 (assumption).
    appropriation_slack: float = 1.08


@dataclass(frozen=True)
class Calibration:
    regions: RegionCalibration = field(default_factory=RegionCalibration)
    transfers: TransferCalibration = field(default_factory=TransferCalibration)
    adoption: AdoptionCalibration = field(default_factory=AdoptionCalibration)
    services: ServiceCalibration = field(default_factory=ServiceCalibration)
    service_effect: ServiceEffectCalibration = field(default_factory=ServiceEffectCalibration)
    budget: BudgetCalibration = field(default_factory=BudgetCalibration)


CALIBRATION = Calibration()
