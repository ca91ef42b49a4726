"""The maps' outlines: snapped to a grid when loaded (analysis.figures.maps), without a visible change."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
from PIL import Image  # noqa: E402

from analysis.figures import maps  # noqa: E402
from analysis.paths import KABKOTA_GEOJSON, PROVINCES_GEOJSON  # noqa: E402


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def test_snap_rings_rounds_drops_repeats_and_islets():
    square = [[0.0, 0.0], [0.0012, 0.0009], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    islet = [[5.0, 5.0], [5.001, 5.001], [5.002, 5.0], [5.0, 5.0]]
    triangle_3d = [[0.0, 0.0, 7.0], [0.0, 2.0, 7.0], [2.0, 2.0, 7.0], [0.0, 0.0, 7.0]]
    out = maps.snap_rings([square, [], islet, triangle_3d, []], 0.01)
    np.testing.assert_array_equal(out[0], [[0, 0], [1, 0], [1, 1], [0, 0]])
    assert out[1] is None and out[2] is None and out[4] is None
    np.testing.assert_array_equal(out[3], [[0, 0], [0, 2], [2, 2], [0, 0]])


@pytest.mark.parametrize("path", [PROVINCES_GEOJSON, KABKOTA_GEOJSON], ids=["provinces", "kabkota"])
def test_snapped_outlines_keep_every_region_and_its_area(path):
    full = maps.load_polygons(str(path), 0)
    snapped = maps.load_polygons(str(path))
    assert set(snapped) == set(full)
    assert sum(map(len, snapped.values())) < sum(map(len, full.values())) / 4
    grid = maps.OUTLINE_GRID_DEGREES
    for code, rings in full.items():
        assert snapped[code], f"region {code} lost every ring"
        for ring in snapped[code]:
            assert np.allclose(ring / grid, np.round(ring / grid), atol=1e-6)
        before, after = sum(map(_area, rings)), sum(map(_area, snapped[code]))
        # the smallest kota are a few km across: within 2 grid cells' worth of their outline
        perimeter = sum(float(np.linalg.norm(np.diff(r, axis=0), axis=1).sum()) for r in rings)
        assert abs(after - before) <= max(0.02 * before, grid * perimeter), code


def _pixels(fig) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    matplotlib.pyplot.close(fig)
    return np.asarray(Image.open(buffer).convert("L"), dtype=float)


def test_maps_drawn_from_snapped_outlines_look_the_same(monkeypatch):
    estimates = pd.DataFrame({"region_code": ["17", "71.11", "33.72"], "name": ["A", "B", "C"],
                              "estimate": [0.1, -0.2, 0.05], "ci_low": [0.02, -0.3, -0.1],
                              "ci_high": [0.2, -0.1, 0.2]})
    drawn, load = {}, maps.load_polygons
    for label, grid in (("snapped", maps.OUTLINE_GRID_DEGREES), ("full", 0)):
        monkeypatch.setattr(maps, "load_polygons", lambda path, _grid=grid: load(path, _grid))
        drawn[label] = (_pixels(maps.adopter_map(["17", "71.11"], lang="en")),
                        _pixels(maps.estimate_map(estimates, lang="en", value_label="x",
                                                  formatter=lambda v: f"{v:.1%}")))
    for snapped, full in zip(drawn["snapped"], drawn["full"]):
        assert snapped.shape == full.shape
        difference = np.abs(snapped - full)
        assert difference.mean() < 1.0          # grey levels 0-255
        assert (difference > 64).mean() < 0.002  # a few edge pixels of islets
