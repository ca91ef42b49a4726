"""Parse ``reports.yaml`` into report instances and validate them before any kernel starts.

``reports.yaml`` shape::

    reports:
      - notebook: 10_service_time          # notebooks/<notebook>.ipynb (+ .params.yaml)
        slug: "10_service_time-{service_type}-{lang}"   # optional; default: notebook + values
        title: {id: "Waktu layanan", en: "Service time"} # optional
        parameters: {n_boot: 199}          # fixed values for every instance
        matrix:                            # fan-out: one instance per combination
          service_type: [all, perizinan]
          lang: [id, en]
        foreach_adopter: region_code       # fan-out: one instance per adopter in the data
        depends_on: ["10_service_time-all-{lang}"]  # slugs (fnmatch patterns) run before this one

String parameter values, ``slug``, ``title`` and ``depends_on`` may use ``{name}`` placeholders
filled with the instance's parameter and matrix values by plain substitution; a ``title`` may also
use ``{region_name}``, the name of the instance's ``region_code`` in the data's regions table
(``region_names``, given by the build), and ``{name:@domain}``, the catalogue's word for the
value in the title's language (``label.<domain>.<value>``, e.g. ``{service_type:@service_type}``
→ "Perizinan"; a value without words stays as it is). No attribute access, no other format
specification: anything else in braces stays as written. A slug must come out as a safe
file name (:data:`analysis.report.output_folder.SAFE_NAME`, after :func:`slugify`), and so must a
notebook name: otherwise :class:`~analysis.errors.UsageError` (a slug like ``..`` would name a
folder outside the output folder). Every instance is checked against the notebook's declared
parameters (``notebooks/<name>.params.yaml``, rules of :mod:`analysis.report.params`): unknown names, wrong types and values outside an
enumeration or range are :class:`~analysis.errors.ParameterError` naming the report and the
parameter.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from analysis.errors import ParameterError, UsageError
from analysis.report.output_folder import check_name
from analysis.report.params import load_spec, validate_parameters
from analysis.texts import MissingTextError, t

#: parameters the build supplies itself (when the notebook declares them)
BUILD_PARAMETERS = ("data_dir", "output_dir", "reports_dir")

@dataclass(frozen=True)
class ReportSpec:
    """One report instance: a notebook with one validated parameter set."""

    slug: str
    notebook: str
    notebook_path: Path
    parameters: dict[str, Any]
    title: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    declared_parameters: tuple[str, ...] = ()
    headline: str | None = None  # name of the results.json entry shown on the index page
    #: seconds one instance takes in its worker on the default data (reports.yaml ``expected_seconds``):
    #: the build starts the longest first when no earlier build in the output folder says better
    expected_seconds: float | None = None

    @property
    def lang(self) -> str | None:
        """The report's language parameter, if it has one."""
        value = self.parameters.get("lang")
        return str(value) if value is not None else None


def slugify(text: str) -> str:
    """Lower-case file-name-safe slug (letters, digits, ``-``, ``_`` and ``.``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-").lower()
    return slug or "report"


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_placeholders(template: str, values: dict[str, Any]) -> str:
    """``{name}`` in ``template`` replaced by ``str(values[name])`` for every name in ``values``;
    anything else (unknown names, ``{a.b}``, ``{a[0]}``, ``{a!r}``) is left as written."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def _fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{" in value:
        return fill_placeholders(value, context)
    return value


_LABEL_PLACEHOLDER = re.compile(r"\{(\w+):@(\w+)\}")


def _fill_labels(template: str, context: dict[str, Any], lang: str) -> str:
    """``{name:@domain}`` → ``label.<domain>.<value of name>`` in ``lang`` (the value itself when
    the catalogue has no words for it; left as written when ``name`` is not in ``context``)."""
    def word(match: re.Match) -> str:
        name, domain = match.groups()
        if name not in context:
            return match.group(0)
        value = str(context[name])
        try:
            return t(f"label.{domain}.{value}", lang)
        except MissingTextError:
            return value

    return _LABEL_PLACEHOLDER.sub(word, template)


def _slug(template: str, context: dict[str, Any], notebook: str) -> str:
    filled = fill_placeholders(template, context)
    if "{" in filled or "}" in filled:
        raise UsageError(
            f"reports.yaml: report {notebook!r}: slug {template!r} has a placeholder that is not a parameter or "
            f"matrix value (known: {', '.join(sorted(context)) or 'none'})"
        )
    return check_name(slugify(filled), f"reports.yaml: report {notebook!r}: slug")


def _combinations(matrix: dict[str, list[Any]]) -> list[dict[str, Any]]:
    if not matrix:
        return [{}]
    names = list(matrix)
    for name in names:
        if not isinstance(matrix[name], list) or not matrix[name]:
            raise UsageError(f"reports.yaml: matrix entry {name!r} must be a non-empty list")
    return [dict(zip(names, combo)) for combo in itertools.product(*(matrix[n] for n in names))]


def expand_entry(
    entry: dict[str, Any], notebooks_dir: Path, adopters: Iterable[str] | Callable[[], Iterable[str]] = (),
    region_names: dict[str, str] | Callable[[], dict[str, str]] | None = None,
) -> list[ReportSpec]:
    """Fan one ``reports.yaml`` entry out into report instances (not yet validated).

    ``adopters`` may be a callable, called only when the entry uses ``foreach_adopter``;
    ``region_names`` (region code -> name, or a callable giving it) only when a title uses
    ``{region_name}`` (a code without a name is shown as the code)."""
    if not isinstance(entry, dict) or "notebook" not in entry:
        raise UsageError(f"reports.yaml: every report needs a 'notebook' (got {entry!r})")
    unknown_keys = set(entry) - {"notebook", "slug", "title", "parameters", "matrix", "foreach_adopter", "depends_on", "headline",
                                  "expected_seconds"}
    if unknown_keys:
        raise UsageError(f"reports.yaml: report {entry['notebook']!r} has unknown keys {sorted(unknown_keys)}")
    notebook = check_name(str(entry["notebook"]), "reports.yaml: notebook")
    notebook_path = (notebooks_dir / notebook).with_suffix(".ipynb")
    matrix = dict(entry.get("matrix") or {})
    adopter_key = entry.get("foreach_adopter")
    if adopter_key:
        codes = adopters() if callable(adopters) else adopters
        matrix[str(adopter_key)] = sorted(codes) or ["none"]
    fixed = dict(entry.get("parameters") or {})
    depends = entry.get("depends_on") or []
    if isinstance(depends, str):
        depends = [depends]
    specs = []
    for combo in _combinations(matrix):
        context = {**fixed, **combo}
        parameters = {name: _fill(value, context) for name, value in {**fixed, **combo}.items()}
        if "slug" in entry:
            slug = _slug(str(entry["slug"]), context, notebook)
        else:
            slug = check_name(slugify("-".join([notebook, *(str(v) for v in combo.values())])),
                              f"reports.yaml: report {notebook!r}: slug")
        title = entry.get("title") or {}
        if isinstance(title, str):
            title = {"id": title, "en": title}
        title_context = context
        if "region_code" in context and any("{region_name}" in str(v) for v in title.values()):
            names = (region_names() if callable(region_names) else region_names) or {}
            code = str(context["region_code"])
            title_context = {**context, "region_name": names.get(code, code)}
        specs.append(
            ReportSpec(
                slug=slug,
                notebook=notebook,
                notebook_path=notebook_path,
                parameters=parameters,
                title={k: _fill(_fill_labels(str(v), title_context, k), title_context) for k, v in title.items()},
                depends_on=tuple(slugify(_fill(str(d), context)) for d in depends),
                headline=entry.get("headline"),
                expected_seconds=_expected_seconds(entry),
            )
        )
    return specs


def _expected_seconds(entry: dict[str, Any]) -> float | None:
    value = entry.get("expected_seconds")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise UsageError(f"reports.yaml: report {entry['notebook']!r}: expected_seconds must be a number "
                         f">= 0 (seconds), got {value!r}")
    return float(value)


def load_reports(
    config_path: Path,
    *,
    notebooks_dir: Path | None = None,
    adopters: Iterable[str] | Callable[[], Iterable[str]] = (),
    region_names: dict[str, str] | Callable[[], dict[str, str]] | None = None,
) -> list[ReportSpec]:
    """Read, fan out and validate ``reports.yaml``; raise on the first file-level problem and
    collect every parameter problem into one :class:`ParameterError`. ``region_names``: region
    code -> name for ``{region_name}`` in titles (a callable is called at most once).

    ``notebooks_dir`` defaults to ``notebooks/`` next to the config file.
    """
    config_path = Path(config_path)
    if not config_path.exists():
        raise UsageError(f"report configuration {config_path} not found")
    loaded = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    entries = loaded.get("reports") if isinstance(loaded, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{config_path.name}: expected a top-level 'reports:' list")
    if notebooks_dir is None:
        configured = loaded.get("notebooks_dir", "notebooks")
        notebooks_dir = (config_path.parent / configured).resolve()
    if callable(adopters):
        adopters = _once(adopters)
    else:
        adopters = list(adopters)
    if callable(region_names):
        region_names = _once_dict(region_names)
    specs: list[ReportSpec] = []
    for entry in entries:
        specs.extend(expand_entry(entry, notebooks_dir, adopters, region_names))
    return validate_reports(specs)


def _once(function: Callable[[], Iterable[str]]) -> Callable[[], list[str]]:
    cache: list[list[str]] = []

    def call() -> list[str]:
        if not cache:
            cache.append(list(function()))
        return cache[0]

    return call


def _once_dict(function: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
    cache: list[dict[str, str]] = []

    def call() -> dict[str, str]:
        if not cache:
            cache.append(dict(function()))
        return cache[0]

    return call


def validate_reports(specs: list[ReportSpec]) -> list[ReportSpec]:
    """Check notebooks exist, slugs are unique, dependencies resolve and parameters fit their
    declarations. Returns the specs with ``declared_parameters`` filled in."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    checked: list[ReportSpec] = []
    for spec in specs:
        if spec.slug in seen:
            problems.append(f"report {spec.slug!r}: slug used twice (notebooks {seen[spec.slug]} and {spec.notebook})")
        seen[spec.slug] = spec.notebook
        if not spec.notebook_path.exists():
            problems.append(f"report {spec.slug!r}: notebook {spec.notebook_path.name} not found")
            checked.append(spec)
            continue
        try:
            declared = load_spec(spec.notebook, spec.notebook_path.parent)
        except ParameterError as exc:
            problems.append(f"report {spec.slug!r}: {exc}")
            checked.append(spec)
            continue
        for name in BUILD_PARAMETERS:
            if name in spec.parameters:
                problems.append(f"report {spec.slug!r}: parameter {name!r} is set by the build, not in reports.yaml")
        try:
            validated = validate_parameters(declared, spec.parameters, context=f"report {spec.slug!r}")
        except ParameterError as exc:
            problems.append(str(exc))
            checked.append(spec)
            continue
        coerced = {name: validated[name] for name in spec.parameters}
        checked.append(
            ReportSpec(**{**spec.__dict__, "parameters": coerced, "declared_parameters": tuple(declared)})
        )
    slugs = [s.slug for s in checked]
    for spec in checked:
        for pattern in spec.depends_on:
            if not fnmatch.filter(slugs, pattern):
                problems.append(f"report {spec.slug!r}: depends_on {pattern!r} matches no report")
    if problems:
        raise ParameterError("invalid reports configuration:\n  " + "\n  ".join(problems))
    order_reports(checked)  # raises on cycles
    return checked


def resolve_dependencies(spec: ReportSpec, specs: list[ReportSpec]) -> list[str]:
    """Slugs of the reports ``spec`` depends on (patterns expanded, itself excluded)."""
    slugs = [s.slug for s in specs]
    found: list[str] = []
    for pattern in spec.depends_on:
        for slug in fnmatch.filter(slugs, pattern):
            if slug != spec.slug and slug not in found:
                found.append(slug)
    return found


def order_reports(specs: list[ReportSpec]) -> list[ReportSpec]:
    """Topological order (dependencies first, otherwise configuration order)."""
    by_slug = {s.slug: s for s in specs}
    ordered: list[ReportSpec] = []
    state: dict[str, str] = {}

    def visit(slug: str, chain: tuple[str, ...]) -> None:
        if state.get(slug) == "done":
            return
        if state.get(slug) == "active":
            raise ParameterError(f"reports.yaml: dependency cycle {' -> '.join(chain + (slug,))}")
        state[slug] = "active"
        for dep in resolve_dependencies(by_slug[slug], specs):
            visit(dep, chain + (slug,))
        state[slug] = "done"
        ordered.append(by_slug[slug])

    for spec in specs:
        visit(spec.slug, ())
    return ordered


def select_reports(specs: list[ReportSpec], only: str | None = None, lang: str | None = None) -> list[ReportSpec]:
    """Reports matching ``--only`` (fnmatch on slug or notebook; comma-separated patterns) and
    ``--lang`` (reports without a ``lang`` parameter always match), plus what they depend on."""
    chosen = []
    patterns = [p.strip() for p in (only or "").split(",") if p.strip()]
    for spec in specs:
        if patterns and not any(
            fnmatch.fnmatch(spec.slug, p) or fnmatch.fnmatch(spec.notebook, p) or p in spec.slug for p in patterns
        ):
            continue
        if lang and spec.lang not in (None, lang):
            continue
        chosen.append(spec)
    needed = {s.slug for s in chosen}
    queue = list(chosen)
    while queue:
        for dep in resolve_dependencies(queue.pop(), specs):
            if dep not in needed:
                needed.add(dep)
                queue.append(next(s for s in specs if s.slug == dep))
    return [s for s in order_reports(specs) if s.slug in needed]
