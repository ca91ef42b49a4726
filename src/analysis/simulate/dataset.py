"""Write a complete synthetic dataset directory (docs/interfaces.md §1 and §3).

Files: ``regions.csv``, ``policies.csv``, ``service_requests.parquet``, ``budget.csv``,
``transfers.csv``, ``dataset.json``, ``truth.json``, ``truth_service_cells.parquet``,
``truth_budget_cells.parquet``. Same arguments, same bytes: every random draw comes from a
stream keyed on (seed, component[, month]); parquet files carry no timestamps; CSV numbers are
formatted explicitly.

The directory is written into a temporary sibling and renamed into place at the end, so a reader
never sees a half-written dataset.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis import __version__, paths
from analysis.simulate.adoption import (
    POLICY_COLUMNS,
    adopters_summary,
    build_schedule,
    read_registry,
    simulate_adopters,
)
from analysis.simulate.budget import simulate_budget
from analysis.simulate.calibration import (
    CALIBRATION,
    DEFAULT_EXTRACTED_AT,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    SCENARIOS,
    SIZES,
    Calibration,
)
from analysis.simulate.regions import read_reference_regions, simulate_regions
from analysis.simulate.services import (
    SERVICE_REQUEST_SCHEMA,
    TRUTH_SERVICE_COLUMNS,
    build_context,
    simulate_month,
    truth_cells,
)
from analysis.simulate.timeline import months as month_list
from analysis.simulate.transfers import simulate_cut_shares, simulate_tkd_2025, transfers_table
from analysis.simulate.truth import budget_truth, service_truth

DATASET_FILES = (
    "regions.csv", "policies.csv", "service_requests.parquet", "budget.csv", "transfers.csv",
    "dataset.json", "truth.json", "truth_service_cells.parquet", "truth_budget_cells.parquet",
)
STREAM_REGIONS, STREAM_TRANSFERS, STREAM_ADOPTION, STREAM_SERVICE_EFFECTS = 1, 2, 3, 4
#: rows buffered before a parquet row group is written (bounds memory at national size)
ROW_GROUP_ROWS = 1_000_000


EARLIEST_EXTRACTION, LATEST_EXTRACTION = dt.date(2023, 2, 1), dt.date(2030, 12, 31)


def _parse_date(value: dt.date | str) -> dt.date:
    """The extraction date; it must fall between February 2023 and 2030."""
    try:
        date = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"extracted_at must be a date YYYY-MM-DD; got {value!r}") from None
    if not EARLIEST_EXTRACTION <= date <= LATEST_EXTRACTION:
        raise ValueError(f"extracted_at must be between {EARLIEST_EXTRACTION} and "
                         f"{LATEST_EXTRACTION}; got {date}")
    return date


def _check_arguments(seed: int, scenario: str, size: str) -> None:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}; got {scenario!r}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}; got {size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")


def dataset_metadata(*, seed: int, scenario: str, size: str, extracted_at: dt.date) -> dict:
    """The identifying part of ``dataset.json`` (what ``ensure_dataset`` compares)."""
    return {
        "extracted_at": extracted_at.isoformat(),
        "source": f"synthetic (analysis.simulate, generator version {GENERATOR_VERSION})",
        "seed": int(seed),
        "scenario": scenario,
        "size": size,
        "generator_version": GENERATOR_VERSION,
    }


def simulate_dataset(out_dir: str | Path, *, seed: int = DEFAULT_SEED, scenario: str = "default",
                     size: str = "default", extracted_at: dt.date | str = DEFAULT_EXTRACTED_AT,
                     progress: Callable[[int, int], None] | None = None,
                     calibration: Calibration = CALIBRATION) -> Path:
    """Simulate the national dataset into ``out_dir`` (replacing an earlier synthetic dataset
    there) and return its path. ``progress(done_months, total_months)`` is called while service
    requests are generated. Raises ``ValueError`` for bad arguments or when ``out_dir`` holds
    something other than a synthetic dataset."""
    _check_arguments(seed, scenario, size)
    extracted_at = _parse_date(extracted_at)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "dataset.json").exists():
        raise ValueError(f"{out_dir} is not empty and is not a dataset directory; refusing to "
                         "overwrite it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir()
    try:
        _write_dataset(tmp_dir, seed=int(seed), scenario=scenario, size=size,
                       extracted_at=extracted_at, progress=progress, cal=calibration)
        _replace_directory(tmp_dir, out_dir)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
    return out_dir


def ensure_dataset(out_dir: str | Path, *, size: str = "default", seed: int = DEFAULT_SEED,
                   scenario: str = "default",
                   extracted_at: dt.date | str = DEFAULT_EXTRACTED_AT) -> Path:
    """Return ``out_dir``, simulating the dataset first only if it is missing, incomplete, or was
    made with other arguments (or an older generator). Safe to call from several processes."""
    _check_arguments(seed, scenario, size)
    out_dir = Path(out_dir)
    wanted = dataset_metadata(seed=seed, scenario=scenario, size=size,
                              extracted_at=_parse_date(extracted_at))
    if is_current(out_dir, wanted):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(out_dir.parent / f".{out_dir.name}.lock"):
        if not is_current(out_dir, wanted):   # another process may have made it meanwhile
            simulate_dataset(out_dir, seed=seed, scenario=scenario, size=size,
                             extracted_at=extracted_at)
    return out_dir


def is_current(out_dir: Path, wanted: dict) -> bool:
    """True when ``out_dir`` holds every dataset file and its dataset.json matches ``wanted``."""
    meta_path = Path(out_dir) / "dataset.json"
    if not all((Path(out_dir) / name).is_file() for name in DATASET_FILES):
        return False
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return all(metadata.get(key) == value for key, value in wanted.items())


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_directory(new: Path, target: Path) -> None:
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old)
    else:
        os.rename(new, target)


# --------------------------------------------------------------------------------------------
def _write_dataset(out: Path, *, seed: int, scenario: str, size: str, extracted_at: dt.date,
                   progress, cal: Calibration) -> None:
    months = month_list(extracted_at)
    regions = simulate_regions(read_reference_regions(), np.random.default_rng([seed, STREAM_REGIONS]),
                               cal.regions)
    registry = read_registry()
    registry_codes = set(registry["region_code"])
    rng_transfers = np.random.default_rng([seed, STREAM_TRANSFERS])
    tkd_2025 = simulate_tkd_2025(regions, rng_transfers, cal.transfers)
    cut_share = simulate_cut_shares(regions, tkd_2025, registry_codes, rng_transfers, cal.transfers)

    policies = registry.reindex(columns=list(POLICY_COLUMNS), fill_value="")
    simulated_codes: set[str] = set()
    if scenario == "default":
        simulated = simulate_adopters(regions, cut_share, registry_codes,
                                      np.random.default_rng([seed, STREAM_ADOPTION]), cal.adoption,
                                      last_month=months[-1])
        simulated_codes = set(simulated["region_code"])
        policies = pd.concat([policies, simulated], ignore_index=True)
    schedule = build_schedule(policies, regions["region_code"].to_numpy().astype(str), months,
                              extracted_at)

    rows = {}
    rows["regions"] = _write_regions_csv(regions, out / "regions.csv")
    policies.to_csv(out / "policies.csv", index=False, lineterminator="\n")
    rows["policies"] = len(policies)
    transfers = transfers_table(regions, tkd_2025, cut_share, months, cal.transfers)
    _write_csv(transfers, out / "transfers.csv")
    rows["transfers"] = len(transfers)

    context = build_context(regions, schedule, extracted_at, seed, size,
                            np.random.default_rng([seed, STREAM_SERVICE_EFFECTS]), cal.services,
                            cal.service_effect)
    service_cells, n_requests, n_open = [], 0, 0
    with pq.ParquetWriter(out / "service_requests.parquet", SERVICE_REQUEST_SCHEMA,
                          compression="zstd") as writer:
        buffer: list[pa.Table] = []
        buffered = 0
        for m in range(len(months)):
            table, potential = simulate_month(context, m)
            service_cells.append(potential)
            n_requests += table.num_rows
            n_open += table.column("completed_at").null_count
            buffer.append(table)
            buffered += table.num_rows
            if buffered >= ROW_GROUP_ROWS or m == len(months) - 1:
                writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP_ROWS)
                buffer, buffered = [], 0
            if progress is not None:
                progress(m + 1, len(months))
    rows["service_requests"] = n_requests
    service_cells = truth_cells(context, pd.concat(service_cells, ignore_index=True))
    service_cells = service_cells[list(TRUTH_SERVICE_COLUMNS)]
    _write_parquet(service_cells, out / "truth_service_cells.parquet")

    budget, budget_cells, budget_scale = simulate_budget(regions, cut_share, schedule, seed, cal.budget)
    _write_csv(budget, out / "budget.csv")
    rows["budget"] = len(budget)
    _write_parquet(budget_cells, out / "truth_budget_cells.parquet")

    metadata = dataset_metadata(seed=seed, scenario=scenario, size=size, extracted_at=extracted_at)
    metadata["rows"] = rows
    metadata["open_requests"] = n_open
    metadata["package_version"] = __version__
    _write_json(metadata, out / "dataset.json")

    cut = pd.Series(cut_share, index=regions["region_code"].to_numpy())
    truth = {
        "seed": seed, "scenario": scenario, "size": size,
        "extracted_at": extracted_at.isoformat(),
        "adopters": adopters_summary(schedule, simulated_codes),
        "service_time": service_truth(service_cells, regions, schedule),
        "budget": budget_truth(budget_cells, regions, schedule, cut, cal, budget_scale),
        "treatment_definition": ("WFA is in force in a Pemda-month when a policy spell overlaps "
                                 "any day of the month; cohort = first month in force; its budget effect "
                                 "scales with the share of the month's working days in force"),
    }
    _write_json(truth, out / "truth.json")


def _write_regions_csv(regions: pd.DataFrame, path: Path) -> int:
    out = regions.copy()
    out["area_km2"] = out["area_km2"].map(lambda v: f"{v:.3f}")
    out["spbe_index"] = out["spbe_index"].map(lambda v: f"{v:.2f}")
    out["ekinerja_daily"] = out["ekinerja_daily"].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n")
    return len(out)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Fast CSV for tables of codes and integers that never need quoting (no quotes at all)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb") as handle:
        handle.write((",".join(frame.columns) + "\n").encode("utf-8"))
        pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none"))


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd")


def _write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def data_dir_or_default(data_dir: str | Path | None) -> Path:
    """The dataset directory named by ``data_dir`` (absolute); an empty value gives the bundled
    default synthetic dataset, which is simulated (deterministically, fixed seed) on first use."""
    path = paths.resolve_data_dir(data_dir)
    if path == paths.DEFAULT_DATASET_DIR:
        ensure_dataset(path, size="default")
    return path
