"""Adopter map from the bundled GeoJSON (``analysis.paths.KABKOTA_GEOJSON`` / ``PROVINCES_GEOJSON``),
drawn with matplotlib ``PolyCollection`` (no geopandas). Province adopters (2-digit codes) fill
the province; kabupaten/kota adopters fill their own polygon on top."""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import chain
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from analysis.paths import KABKOTA_GEOJSON, PROVINCES_GEOJSON  # noqa: E402
from analysis.texts import check_lang, t  # noqa: E402


#: Outlines are snapped to a grid of this many degrees (about 1.1 km) when loaded. The maps draw
#: 0.036-0.043 degrees per pixel, so the picture does not change, while the drawing gets much
#: lighter: the bundled provinces have 17,749 rings (105,253 points), most of them islets smaller
#: than a pixel; on the grid, 2,905 rings (28,725 points) are left.
OUTLINE_GRID_DEGREES = 0.01


@lru_cache(maxsize=4)
def load_polygons(path: str, grid: float = OUTLINE_GRID_DEGREES) -> dict[str, list]:
    """``region_code -> list of exterior rings`` (each an ``(n, 2)`` array of lon/lat) of a
    GeoJSON, simplified by :func:`snap_rings` to ``grid`` degrees (0: as in the file)."""
    features = json.loads(Path(path).read_text(encoding="utf-8"))["features"]
    codes, rings = [], []
    for feature in features:
        geometry = feature["geometry"]
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        code = str(feature["properties"]["region_code"])
        codes.extend([code] * len(parts))
        rings.extend(part[0] for part in parts)
    kept = snap_rings(rings, grid) if grid > 0 else [np.asarray(ring, dtype=float) for ring in rings]
    polygons: dict[str, list] = {str(feature["properties"]["region_code"]): [] for feature in features}
    for code, ring in zip(codes, kept):
        if ring is not None:
            polygons[code].append(ring)
    return polygons


def snap_rings(rings: list, grid: float) -> list[np.ndarray | None]:
    """Each closed ring (a list of ``[lon, lat]``) with its points rounded to multiples of
    ``grid`` and repeated consecutive points removed; None for a ring left with fewer than four
    points (closing point included: an islet smaller than the grid)."""
    lengths = np.array([len(ring) for ring in rings])
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(rings)), dtype=float)
    if flat.size != 2 * lengths.sum():  # some points carry a third coordinate
        flat = np.array([point[:2] for ring in rings for point in ring], dtype=float)
    points = np.round(flat.reshape(-1, 2) / grid) * grid
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = (points[1:] != points[:-1]).any(axis=1)
    keep[starts[lengths > 0]] = True
    kept_lengths = np.zeros(len(rings), dtype=int)
    nonempty = lengths > 0
    if nonempty.any():
        kept_lengths[nonempty] = np.add.reduceat(keep, starts[nonempty])
    pieces = np.split(points[keep], np.cumsum(kept_lengths)[:-1])
    return [ring if len(ring) >= 4 else None for ring in pieces]


def _rings(polygons: dict[str, list], codes) -> list:
    return [ring for code in codes for ring in polygons.get(code, [])]


def adopter_map(adopter_codes, *, lang: str):
    """Map of Indonesia with adopting provinces and kabupaten/kota highlighted; returns the Figure."""
    check_lang(lang)
    provinces = load_polygons(str(PROVINCES_GEOJSON))
    kabkota = load_polygons(str(KABKOTA_GEOJSON))
    codes = {str(c) for c in adopter_codes}
    province_codes = sorted(c for c in codes if "." not in c)
    kabkota_codes = sorted(c for c in codes if "." in c)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.add_collection(PolyCollection(_rings(provinces, sorted(provinces)), facecolor="#e9ecef", edgecolor="#adb5bd",
                                     linewidth=0.3))
    ax.add_collection(PolyCollection(_rings(provinces, province_codes), facecolor="#8ecae6", edgecolor="#457b9d",
                                     linewidth=0.5))
    ax.add_collection(PolyCollection(_rings(kabkota, kabkota_codes), facecolor="#e63946", edgecolor="#9d0208",
                                     linewidth=0.6))
    ax.set_xlim(94.5, 141.5)
    ax.set_ylim(-11.5, 6.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#8ecae6", "#e63946", "#e9ecef")]
    ax.legend(handles, [t(f"label.legend.map_{part}", lang) for part in ("province", "kabkota", "other")],
              loc="lower left", frameon=False)
    fig.tight_layout()
    return fig


def _centre(rings) -> tuple[float, float]:
    """Centre of the largest ring (its bounding box): where a label points."""
    ring = max(rings, key=len)
    low, high = ring.min(axis=0), ring.max(axis=0)
    return float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2


def estimate_map(estimates, *, lang: str, value_label: str, formatter, good: str = "positive"):
    """Each Pemda's estimate on the bundled boundaries: ``estimates`` has ``region_code, name,
    estimate, ci_low, ci_high``; colour by the estimate (diverging at zero, green where
    ``good`` — ``positive`` or ``negative`` — values lie), hatched where the 95% CI includes zero;
    every Pemda named in a side label with its estimate (``formatter(value) -> text``), so a
    small kabupaten is still found. Provinces are drawn under kabupaten/kota. Returns the Figure."""
    import matplotlib.colors as mcolors

    check_lang(lang)
    provinces = load_polygons(str(PROVINCES_GEOJSON))
    kabkota = load_polygons(str(KABKOTA_GEOJSON))
    rows = [r for r in estimates.itertuples(index=False) if np.isfinite(float(r.estimate))]
    values = np.array([float(r.estimate) for r in rows]) if rows else np.array([0.0])
    limit = float(np.nanmax(np.abs(values))) or 1.0
    cmap = plt.get_cmap("RdYlGn" if good == "positive" else "RdYlGn_r")
    norm = mcolors.TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit)
    fig, ax = plt.subplots(figsize=(12, 5.6))
    ax.add_collection(PolyCollection(_rings(provinces, sorted(provinces)), facecolor="#eeeeee", edgecolor="#bbbbbb",
                                     linewidth=0.3))
    ordered = sorted(rows, key=lambda r: "." in str(r.region_code))  # provinces first, kabupaten/kota on top
    anchors = []
    for row in ordered:
        code = str(row.region_code)
        rings = (kabkota if "." in code else provinces).get(code, [])
        if not rings:
            continue
        unclear = not (float(row.ci_low) > 0 or float(row.ci_high) < 0)  # NaN bounds: unclear too
        ax.add_collection(PolyCollection(rings, facecolor=cmap(norm(float(row.estimate))), edgecolor="#333333",
                                         linewidth=0.6, hatch="////" if unclear else None))
        anchors.append((_centre(rings), f"{row.name}: {formatter(float(row.estimate))}"))
    # labels in two columns beside the map (west and east of 118°E), spread vertically, with leader lines
    for side, x_text, align in (("west", 93.0, "right"), ("east", 143.0, "left")):
        mine = sorted([a for a in anchors if (a[0][0] < 118) == (side == "west")], key=lambda a: -a[0][1])
        for i, ((x, y), text) in enumerate(mine):
            y_text = 6.0 - i * (17.0 / max(len(mine), 1)) if len(mine) > 1 else y
            ax.annotate(text, (x, y), xytext=(x_text, y_text), ha=align, va="center", fontsize=8,
                        arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.5})
    ax.set_xlim(94.5, 141.5)
    ax.set_ylim(-11.5, 6.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.05, pad=0.02, shrink=0.6)
    bar.set_label(value_label)
    bar.set_ticks([-limit, 0.0, limit])
    bar.ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: formatter(v)))
    bar.ax.tick_params(labelsize=8)
    hatch = plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#333333", hatch="////")
    ax.legend([hatch], [t("label.legend.ci_includes_zero", lang)], loc="lower right",
              frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
