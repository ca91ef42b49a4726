"""How a Pemda is named on every page: its official name, never its code alone."""

from __future__ import annotations

import pandas as pd


def pemda_name(name: str, level: str) -> str:
    """``Provinsi <name>`` for a province (the regions table names provinces without the word);
    kabupaten and kota names as they are (they carry their kind)."""
    is_province = str(level).lower() in ("provinsi", "province")
    return f"Provinsi {name}" if is_province and not str(name).startswith("Provinsi") else str(name)


def pemda_names(regions: pd.DataFrame) -> dict[str, str]:
    """Region code (text) -> :func:`pemda_name`, from a ``regions`` table (``region_code, name, level``)."""
    return {str(code): pemda_name(name, level)
            for code, name, level in zip(regions["region_code"], regions["name"], regions["level"])}
