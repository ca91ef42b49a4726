"""Service requests, one submission month at a time, with their potential outcomes.

For every request we draw its completion time without WFA, ``Y0`` (days), and compute its WFA
multiplier ``exp(delta)``; the written completion time is ``Y0 x exp(delta)`` when WFA is in force
in the Pemda in the submission month, else ``Y0``. Requests whose completion falls on or after the
extraction date (00:00) are written as open (``completed_at`` empty).

``log Y0 = log(service median) + Pemda effect + calendar effect + 0.2 x (units - 1)
           + online effect + sd x t-noise``; see :mod:`analysis.simulate.calibration` for the numbers
and :func:`wfa_log_effect` for ``delta``.

Each month uses its own random stream (seed, month index), so the output does not depend on how
months are grouped into chunks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.simulate.adoption import Schedule
from analysis.simulate.calibration import (
    SERVICE_TYPES,
    ServiceCalibration,
    ServiceEffectCalibration,
)
from analysis.simulate.timeline import calendar_log_effect, submission_days

STREAM_SERVICES = 100
SECONDS_PER_DAY = 86_400

SERVICE_REQUEST_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("region_code", pa.string()),
    ("service_type", pa.string()),
    ("submitted_at", pa.timestamp("ms")),
    ("completed_at", pa.timestamp("ms")),
    ("units_involved", pa.int64()),
    ("channel", pa.string()),
    ("sla_days", pa.float64()),
    ("applicant_nik", pa.string()),
])

TRUTH_SERVICE_COLUMNS = ("region_code", "month", "service_type", "units", "n_requests",
                         "log_effect_median")


@dataclass(frozen=True)
class ServiceContext:
    """Everything per region that the monthly generator needs (arrays in ``regions`` order)."""

    region_codes: np.ndarray       # text
    region_nik_prefix: np.ndarray  # 4-digit prov+kab number used in NIKs
    population: np.ndarray
    is_province: np.ndarray
    spbe: np.ndarray
    ekinerja: np.ndarray           # bool
    pemda_effect: np.ndarray       # [region, service] log points
    schedule: Schedule
    extracted_at: dt.date
    seed: int
    size_factor: float
    cal: ServiceCalibration
    effect: ServiceEffectCalibration


def build_context(regions: pd.DataFrame, schedule: Schedule, extracted_at: dt.date, seed: int,
                  size: str, rng: np.random.Generator, cal: ServiceCalibration,
                  effect: ServiceEffectCalibration) -> ServiceContext:
    spbe = regions["spbe_index"].to_numpy(dtype="float64")
    pemda_effect = (rng.normal(0.0, cal.pemda_effect_sd, (len(regions), len(SERVICE_TYPES)))
                    + cal.pemda_spbe_slope * (spbe[:, None] - 3.0))
    codes = regions["region_code"].to_numpy().astype(str)
    prefix = np.array([int(c.replace(".", "")) if "." in c else int(c) * 100 + 1 for c in codes])
    return ServiceContext(
        region_codes=codes, region_nik_prefix=prefix,
        population=regions["population"].to_numpy(dtype="float64"),
        is_province=regions["level"].to_numpy() == "provinsi",
        spbe=spbe, ekinerja=regions["ekinerja_daily"].to_numpy(dtype=bool),
        pemda_effect=pemda_effect, schedule=schedule, extracted_at=extracted_at, seed=seed,
        size_factor=cal.size_factor[size], cal=cal, effect=effect,
    )


def wfa_log_effect(service_index: np.ndarray, spbe: np.ndarray, cross_unit: np.ndarray,
                   ekinerja: np.ndarray, wfa_days: np.ndarray, months_since_cohort: np.ndarray,
                   effect: ServiceEffectCalibration) -> np.ndarray:
    """True WFA effect ``delta`` (log points) on completion time, per request (0 where
    ``wfa_days`` is 0). Larger with low SPBE, cross-unit services and no daily e-Kinerja; linear in
    WFA days; builds up over the months since the Pemda's cohort."""
    spbe_risk = np.clip((effect.spbe_risk_zero - spbe) / effect.spbe_risk_span, 0.0, 1.0)
    risk = (effect.floor + effect.spbe_weight * spbe_risk + effect.cross_weight * cross_unit
            + effect.ekinerja_weight * (~ekinerja))
    scale = np.array([effect.service_scale[s] for s in SERVICE_TYPES])[service_index]
    dose = wfa_days / effect.reference_days
    dynamics = 1.0 - effect.buildup_gap * np.exp(-np.maximum(months_since_cohort, 0) / effect.buildup_months)
    return np.where(wfa_days > 0, dose * dynamics * scale * risk, 0.0)


def expected_counts(ctx: ServiceContext, month: str) -> np.ndarray:
    """Expected requests per [region, service] in ``month`` (before Poisson noise)."""
    cal = ctx.cal
    rate = np.array([cal.rate_per_100k[s] for s in SERVICE_TYPES])
    province_factor = np.array([cal.province_rate_factor[s] for s in SERVICE_TYPES])
    factor = np.where(ctx.is_province[:, None], province_factor[None, :], 1.0)
    season = 1.0
    if any(date[:7] == month for date in cal.lebaran_dates):
        season *= cal.volume_lebaran_month
    if month.endswith("-01"):
        season *= cal.volume_january
    days = submission_days(month, ctx.extracted_at)
    full_days = submission_days(month, dt.date(2100, 1, 1))
    season *= len(days) / max(len(full_days), 1)
    return ctx.population[:, None] / 1e5 * rate[None, :] * factor * ctx.size_factor * season


def simulate_month(ctx: ServiceContext, month_index: int) -> tuple[pa.Table, pd.DataFrame]:
    """Requests submitted in one month (sorted by submission time) and the potential outcomes of
    its treated requests (columns ``m, r, s, cross, y0, y1``; see :func:`truth_cells`)."""
    cal, month = ctx.cal, ctx.schedule.months[month_index]
    rng = np.random.default_rng([ctx.seed, STREAM_SERVICES, month_index])
    counts = rng.poisson(expected_counts(ctx, month))
    region = np.repeat(np.repeat(np.arange(len(ctx.region_codes)), len(SERVICE_TYPES)), counts.ravel())
    service = np.repeat(np.tile(np.arange(len(SERVICE_TYPES)), len(ctx.region_codes)), counts.ravel())
    n = len(region)

    # fixed draw order: every array is drawn for all n requests
    days = submission_days(month, ctx.extracted_at)
    day = days[rng.integers(0, len(days), n)]
    u_channel, u_units, u_kind, u_sla = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    extra_units = rng.poisson(0.5, n)
    u_time = rng.random(n)
    noise = rng.standard_t(cal.noise_t_df, n) * np.sqrt((cal.noise_t_df - 2) / cal.noise_t_df)
    u_nik = rng.integers(0, 2**62, n)
    nik_missing = rng.random(n) < cal.nik_missing_share

    years = (np.datetime64(f"{month}-15") - np.datetime64("2023-01-15")).astype("int64") / 365.25
    p_online = np.clip(cal.online_share_2023 + cal.online_share_per_year * years
                       + cal.online_share_per_spbe * (ctx.spbe[region] - 3.0), 0.05, 0.95)
    online = u_channel < p_online
    cross_share = np.array([cal.cross_unit_share[s] for s in SERVICE_TYPES])[service]
    cross = u_units < cross_share
    units = np.where(cross, np.minimum(2 + extra_units, cal.max_units), 1)

    median, sla = _service_median_and_sla(service, month, u_kind, u_sla, cal)
    sd = np.array([cal.log_sd[s] for s in SERVICE_TYPES])[service]
    log_y0 = (np.log(median) + ctx.pemda_effect[region, service] + calendar_log_effect(day, cal)
              + cal.log_per_extra_unit * (units - 1) + cal.online_log_effect * online
              + sd * np.clip(noise, *cal.noise_clip))
    y0 = np.maximum(np.exp(log_y0), cal.min_days)

    wfa_days = ctx.schedule.wfa_days[region, month_index]
    since = ctx.schedule.months_since_cohort()[region, month_index]
    delta = wfa_log_effect(service, ctx.spbe[region], cross, ctx.ekinerja[region], wfa_days, since,
                           ctx.effect)
    y1 = y0 * np.exp(delta)
    actual = np.where(wfa_days > 0, y1, y0)

    # timestamps (ms): loket 07:30-15:30 local, online any time of day
    start_s = np.where(online, 0, 7 * 3600 + 1800)
    span_s = np.where(online, SECONDS_PER_DAY, 8 * 3600)
    submitted_s = (day.astype("datetime64[s]").astype("int64") + start_s
                   + np.floor(u_time * span_s).astype("int64"))
    completed_s = submitted_s + np.round(actual * SECONDS_PER_DAY).astype("int64")
    cutoff_s = np.datetime64(ctx.extracted_at, "s").astype("int64")
    is_open = completed_s >= cutoff_s

    order = np.argsort(submitted_s, kind="stable")
    table = _requests_table(ctx, month, order, region, service, submitted_s, completed_s, is_open,
                            units, online, sla, u_nik, nik_missing)
    treated = wfa_days > 0
    potential = pd.DataFrame({"m": np.full(treated.sum(), month_index), "r": region[treated],
                              "s": service[treated], "cross": cross[treated], "y0": y0[treated],
                              "y1": y1[treated]})
    return table, potential


def _service_median_and_sla(service, month, u_kind, u_sla, cal: ServiceCalibration):
    """Median completion days without WFA and the service standard (days), per request."""
    n = len(service)
    median, sla = np.empty(n), np.empty(n)
    names = np.array(SERVICE_TYPES)[service]
    # perizinan: simple permits (SLA 3-14 d) and PBG (heavy tail)
    perm = names == "perizinan"
    pbg = perm & (u_kind < cal.perizinan_pbg_share)
    sla_choice = np.asarray(cal.perizinan_sla_choices, dtype="float64")[
        np.searchsorted(np.cumsum(cal.perizinan_sla_probs), u_sla, side="right").clip(
            0, len(cal.perizinan_sla_choices) - 1)]
    sla[perm] = np.where(pbg[perm], cal.perizinan_pbg_sla_days, sla_choice[perm])
    median[perm] = np.where(pbg[perm], cal.perizinan_pbg_median_days,
                            cal.perizinan_simple_median_over_sla * sla_choice[perm])
    # adminduk: same day, KTP-el print backlogs in blanko-shortage months
    adm = names == "adminduk"
    ktp = adm & (u_kind < cal.adminduk_ktp_share)
    ktp_median = (cal.adminduk_ktp_shortage_median_days if month in cal.blanko_shortage_months
                  else cal.adminduk_ktp_median_days)
    sla[adm] = cal.adminduk_sla_days
    median[adm] = np.where(ktp[adm], ktp_median, cal.adminduk_median_days)
    ban = names == "bansos"
    sla[ban], median[ban] = cal.bansos_sla_days, cal.bansos_median_days
    las = names == "layanan_dasar"
    sla[las], median[las] = cal.layanan_dasar_sla_days, cal.layanan_dasar_median_days
    return median, sla


def _requests_table(ctx, month, order, region, service, submitted_s, completed_s, is_open, units,
                    online, sla, u_nik, nik_missing) -> pa.Table:
    n = len(order)
    serial = pa.array(np.arange(1, n + 1, dtype="int64")).cast(pa.string())
    request_id = pc.binary_join_element_wise(
        f"SR-{month.replace('-', '')}-", pc.utf8_lpad(serial, width=8, padding="0"), "")
    region = region[order]
    # fake-but-invalid NIK: prov+kab (4) + kecamatan (2) + DDMMYY (day + 40 for women) + serial 0000
    u = u_nik[order]
    kec = 1 + u % 20
    day = 1 + (u // 20) % 28 + 40 * ((u // 560) % 2)
    mon = 1 + (u // 1120) % 12
    yy = (u // 13440) % 100
    nik = ((((ctx.region_nik_prefix[region] * 100 + kec) * 100 + day) * 100 + mon) * 100 + yy) * 10_000
    completed = pa.array(completed_s[order] * 1000, type=pa.int64(), mask=is_open[order])
    return pa.table({
        "request_id": request_id,
        "region_code": _decode(region, ctx.region_codes),
        "service_type": _decode(service[order], np.array(SERVICE_TYPES)),
        "submitted_at": pa.array(submitted_s[order] * 1000, type=pa.int64()).cast(pa.timestamp("ms")),
        "completed_at": completed.cast(pa.timestamp("ms")),
        "units_involved": pa.array(units[order], type=pa.int64()),
        "channel": _decode(np.where(online[order], 0, 1), np.array(["online", "loket"])),
        "sla_days": pa.array(sla[order], type=pa.float64()),
        "applicant_nik": pa.array(nik, type=pa.int64(), mask=nik_missing[order]).cast(pa.string()),
    }, schema=SERVICE_REQUEST_SCHEMA)


def _decode(indices: np.ndarray, labels: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=pa.int32()), pa.array(labels.astype(str), type=pa.string())
    ).dictionary_decode()


def truth_cells(ctx: ServiceContext, potential: pd.DataFrame) -> pd.DataFrame:
    """Per treated Pemda x month x service x units group (single/cross/all): number of requests
    and log(median Y1) - log(median Y0) over all its requests (censoring ignored), from the
    concatenated ``potential`` outcomes of :func:`simulate_month`. Sorted by month, region
    (reference order), service, units."""
    if len(potential) == 0:
        return pd.DataFrame({c: [] for c in TRUTH_SERVICE_COLUMNS})
    frame = potential.assign(units=np.where(potential["cross"], "cross", "single"))
    by_units = frame.groupby(["m", "r", "s", "units"], sort=True).agg(
        n_requests=("y0", "size"), m0=("y0", "median"), m1=("y1", "median")).reset_index()
    all_units = frame.groupby(["m", "r", "s"], sort=True).agg(
        n_requests=("y0", "size"), m0=("y0", "median"), m1=("y1", "median")).reset_index()
    all_units["units"] = "all"
    cells = pd.concat([by_units, all_units], ignore_index=True)
    cells = cells.sort_values(["m", "r", "s", "units"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({
        "region_code": ctx.region_codes[cells["r"].to_numpy()],
        "month": np.array(ctx.schedule.months, dtype=object)[cells["m"].to_numpy()],
        "service_type": np.array(SERVICE_TYPES)[cells["s"].to_numpy()],
        "units": cells["units"].to_numpy(dtype=object),
        "n_requests": cells["n_requests"].to_numpy(dtype="int64"),
        "log_effect_median": np.log(cells["m1"].to_numpy()) - np.log(cells["m0"].to_numpy()),
    })
