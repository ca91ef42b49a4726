"""Simulate the synthetic national dataset: the same files a real user would bring (regions,
policies, service_requests, budget, transfers, dataset.json) plus the true effects (truth.json
and the per-cell truth files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli import EXIT_OK
from analysis.data import read_metadata, read_truth
from analysis.errors import UsageError

HELP = "simulate the synthetic national dataset with known true effects"


def configure(parser: argparse.ArgumentParser) -> None:
    from analysis.simulate.calibration import DEFAULT_EXTRACTED_AT, DEFAULT_SEED, SCENARIOS, SIZES

    parser.add_argument("--out", required=True, type=Path, help="dataset directory to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED}); same seed, same files")
    parser.add_argument("--scenario", choices=SCENARIOS, default="default",
                        help="default: registry + simulated 2026 adopters; registry_only: real "
                             "registry only")
    parser.add_argument("--size", choices=SIZES, default="default",
                        help="small (~0.2 M requests), default (~2.4 M), national (~29 M)")
    parser.add_argument("--extracted-at", default=DEFAULT_EXTRACTED_AT.isoformat(),
                        help="extraction date YYYY-MM-DD (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from analysis.simulate import simulate_dataset

    progress = None
    bar = None
    if args.size == "national":
        from tqdm import tqdm

        bar = tqdm(total=None, unit="month", desc="service requests")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
    try:
        out = simulate_dataset(args.out, seed=args.seed, scenario=args.scenario, size=args.size,
                               extracted_at=args.extracted_at, progress=progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    print(summary(out))
    return EXIT_OK


def summary(out: Path) -> str:
    """A short, human-readable summary of a simulated dataset directory."""
    metadata, truth = read_metadata(out), read_truth(out)
    adopters = truth["adopters"]
    n_sim = sum(a["origin"] == "simulated" for a in adopters)
    lines = [f"Synthetic dataset written to {out}",
             f"  seed {metadata['seed']}, scenario {metadata['scenario']}, size {metadata['size']}, "
             f"extracted_at {metadata['extracted_at']}"]
    for table, n in metadata["rows"].items():
        lines.append(f"  {table:<17} {n:>12,} rows")
    lines.append(f"  open requests at extraction: {metadata['open_requests']:,}")
    lines.append(f"  adopters: {len(adopters)} ({len(adopters) - n_sim} registry, {n_sim} simulated)")
    lines.append(f"  true effects: {out / 'truth.json'} (service time ATT "
                 f"{truth['service_time']['att_log_median_days']:+.3f} log points, routine "
                 f"spending ATT {truth['budget']['att_log_routine_spending']:+.3f})")
    return "\n".join(lines)
