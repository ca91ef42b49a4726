"""Adopter map from the bundled GeoJSON (``analysis.paths.KABKOTA_GEOJSON`` / ``PROVINCES_GEOJSON``),
drawn with matplotlib ``PolyCollection`` (no geopandas). Province adopters (2-digit codes) fill
the province; kabupaten/kota adopters fill their own polygon on top."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from analysis.paths import KABKOTA_GEOJSON, PROVINCES_GEOJSON  # noqa: E402
from analysis.texts import check_lang, t  # noqa: E402


@lru_cache(maxsize=4)
def load_polygons(path: str) -> dict[str, list]:
    """``region_code -> list of exterior rings`` (each an ``(n, 2)`` list of lon/lat) of a GeoJSON."""
    features = json.loads(Path(path).read_text(encoding="utf-8"))["features"]
    polygons: dict[str, list] = {}
    for feature in features:
        geometry = feature["geometry"]
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        polygons[str(feature["properties"]["region_code"])] = [part[0] for part in parts]
    return polygons


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
