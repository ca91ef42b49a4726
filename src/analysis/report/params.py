"""Declared notebook parameters and their validation.

Each notebook ``notebooks/<name>.ipynb`` has a spec ``notebooks/<name>.params.yaml``::

    parameters:
      outcome:
        type: str            # str | int | float | bool
        default: median_days
        choices: [median_days, p90_days, sla_share]
        help: Outcome of the panel analysis.
      projection_days_per_week: {type: int, default: 2, min: 1, max: 5, help: ...}

The same spec is used twice: by the notebook's second cell (``validate_notebook_parameters``,
which stops with a clear message on a bad value) and by the report build, which checks every
parameter set in ``reports.yaml`` before any kernel starts (papermill itself only warns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from analysis.errors import ParameterError
from analysis.paths import NOTEBOOKS_DIR

_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None


def spec_path(notebook: str, notebooks_dir: Path | None = None) -> Path:
    """Path of the ``.params.yaml`` next to notebook ``notebook`` (name without extension)."""
    return Path(notebooks_dir or NOTEBOOKS_DIR) / f"{Path(notebook).stem}.params.yaml"


def load_spec(notebook: str, notebooks_dir: Path | None = None) -> dict[str, ParameterSpec]:
    """Read and check a notebook's parameter spec."""
    path = spec_path(notebook, notebooks_dir)
    if not path.exists():
        raise ParameterError(f"{path.name}: parameter spec not found for notebook {notebook!r}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path.name}: not valid YAML ({exc})") from None
    declared = raw.get("parameters")
    if not isinstance(declared, dict) or not declared:
        raise ParameterError(f"{path.name}: expected a non-empty mapping under 'parameters'")
    specs = {}
    for name, fields in declared.items():
        if not isinstance(fields, dict) or fields.get("type") not in _TYPES:
            raise ParameterError(
                f"{path.name}: parameter {name!r} needs 'type' (one of {', '.join(_TYPES)})"
            )
        if "default" not in fields:
            raise ParameterError(f"{path.name}: parameter {name!r} needs a 'default'")
        choices = fields.get("choices")
        specs[name] = ParameterSpec(
            name=name,
            type=fields["type"],
            default=fields["default"],
            help=fields.get("help", ""),
            choices=tuple(choices) if choices is not None else None,
            min=fields.get("min"),
            max=fields.get("max"),
        )
        # The default itself must satisfy the spec.
        coerce_value(specs[name], fields["default"], context=f"{path.name} default")
    return specs


def coerce_value(spec: ParameterSpec, value: Any, *, context: str) -> Any:
    """Return ``value`` converted to the declared type, or raise ParameterError saying why."""
    where = f"{context}: parameter {spec.name!r}"
    expected = _TYPES[spec.type]
    if spec.type == "bool":
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            value = value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ParameterError(f"{where} must be true or false; got {value!r}")
    elif spec.type == "int":
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, float) and float(value).is_integer())
        ):
            raise ParameterError(f"{where} must be a whole number; got {value!r}")
        value = int(value)
    elif spec.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{where} must be a number; got {value!r}")
        value = float(value)
    elif not isinstance(value, expected):
        raise ParameterError(f"{where} must be text; got {value!r} ({type(value).__name__})")
    if spec.choices is not None and value not in spec.choices:
        allowed = ", ".join(str(choice) for choice in spec.choices)
        raise ParameterError(f"{where} must be one of: {allowed}; got {value!r}")
    if spec.min is not None and value < spec.min:
        raise ParameterError(f"{where} must be at least {spec.min}; got {value!r}")
    if spec.max is not None and value > spec.max:
        raise ParameterError(f"{where} must be at most {spec.max}; got {value!r}")
    return value


def validate_parameters(
    specs: Mapping[str, ParameterSpec],
    values: Mapping[str, Any],
    *,
    context: str,
    allow_unknown: bool = False,
) -> dict[str, Any]:
    """Validate a parameter set against ``specs``; missing names take their default.

    With ``allow_unknown=False`` (report configurations) a name not declared in the spec is an
    error naming it and the declared ones.
    """
    if not allow_unknown:
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise ParameterError(
                f"{context}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"declared: {', '.join(specs)}"
            )
    validated = {}
    for name, spec in specs.items():
        value = values[name] if name in values else spec.default
        validated[name] = coerce_value(spec, value, context=context)
    return validated


def validate_notebook_parameters(notebook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """For the notebook's second cell: ``validate_notebook_parameters("10_service_time", globals())``.

    Only the declared names are taken from ``values`` (a notebook's globals hold much more).
    Returns the validated parameters (a plain dict, in declaration order).
    """
    specs = load_spec(notebook)
    declared_values = {name: values[name] for name in specs if name in values}
    return validate_parameters(specs, declared_values, context=f"notebook {notebook}", allow_unknown=True)
