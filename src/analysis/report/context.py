"""The one prologue of every notebook: ``ctx = report_context("10_service_time", globals())``.

Called right after the parameters cell, it

- validates the parameters against ``notebooks/<notebook>.params.yaml`` (a bad value raises the
  :class:`~analysis.errors.ParameterError` that names the parameter);
- resolves ``data_dir`` (empty: the bundled default synthetic dataset, made on first use by
  :func:`analysis.simulate.data_dir_or_default`) and ``output_dir`` (empty:
  ``<project>/reports/<notebook>``); a relative path is taken relative to the project root, never
  to the notebook's working directory, so a notebook writes to the same place whether it runs
  from ``notebooks/`` in JupyterLab or from the project root under papermill;
- configures the numbered exhibits (:mod:`analysis.report.exhibits`) for ``output_dir`` and the
  report's language.

The context carries the validated ``params``, ``lang``, ``data_dir``, ``output_dir`` and renders
the catalogue in the report's language: ``ctx.t(key, **params)``, ``ctx.show(key, **params)``
(display as Markdown), ``ctx.show_notes(notes)``.

``ctx.compute(function, *args, **kwargs)`` runs a heavy step once per (validated data, parameters
other than ``lang`` and ``output_dir``, analysis code version, arguments) and reuses its result in
the other language's run (:mod:`analysis.report.compute_cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.data import dataset_fingerprint
from analysis.errors import ParameterError
from analysis.notes import Note
from analysis.paths import PROJECT_ROOT, REPORTS_DIR
from analysis.report import exhibits
from analysis.report.params import validate_notebook_parameters
from analysis.simulate import data_dir_or_default
from analysis.texts import check_lang
from analysis.texts import note as render_note
from analysis.texts import t as render


def project_path(value: str | Path, default: Path) -> Path:
    """``value`` as an absolute path: empty → ``default``; relative → under the project root."""
    if value is None or str(value).strip() == "":
        return Path(default)
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _display_markdown(text: str) -> None:
    try:
        from IPython.display import Markdown, display
    except ImportError:  # plain Python: nothing to display
        return
    display(Markdown(text))


@dataclass(frozen=True)
class ReportContext:
    """A notebook's validated parameters, paths and language (see the module doc)."""

    notebook: str
    params: dict[str, Any]
    lang: str
    data_dir: Path | None
    output_dir: Path

    def t(self, key: str, **params: Any) -> str:
        """The catalogue text ``key`` in the report's language."""
        return render(key, self.lang, **params)

    def note(self, note: Note) -> str:
        """A :class:`~analysis.notes.Note` in the report's language."""
        return render_note(note, self.lang)

    def show(self, key: str, **params: Any) -> None:
        """Display the catalogue text ``key`` (Markdown) in the notebook."""
        _display_markdown(self.t(key, **params))

    def show_notes(self, notes: Iterable[Note]) -> None:
        """Display each note as one Markdown line (``label.note_line``: *Catatan:* … / *Note:* …)."""
        for item in notes:
            _display_markdown(self.t("label.note_line", text=self.note(item)))

    def show_diagnostics(self, diagnostics: Iterable[Any]) -> None:
        """A diagnostic callout per failing diagnostic
        (:func:`analysis.analyses.diagnostics.failed`): the catalogue text ``callout.<code>``."""
        from analysis.report import exhibits

        for diagnostic in diagnostics:
            exhibits.show_callout(self.t(f"callout.{diagnostic.code}", **diagnostic.params), "diagnostic")

    def compute(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` through the compute cache (module doc): computed once for
        this data, these parameters (without ``lang`` and ``output_dir``) and this analysis code,
        then read back, e.g. by the report in the other language."""
        from analysis.report import compute_cache

        parameters = {k: v for k, v in self.params.items()
                      if k not in compute_cache.IGNORED_PARAMETERS and k != "data_dir"}
        context = {"notebook": self.notebook, "parameters": parameters,
                   "data": None if self.data_dir is None else dataset_fingerprint(self.data_dir)}
        return compute_cache.cached_call(function, args, kwargs, context=context,
                                         log=self.output_dir / compute_cache.COMPUTE_LOG)

    def compute_shared(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`compute`, but keyed by the data, the analysis code and the arguments only
        (not by the notebook or its parameters), so that every report calling ``function`` with the
        same arguments reads one entry: for a step several reports share, e.g. the monthly outcome
        of every Pemda that each case study draws its donors from. The arguments must determine
        the result."""
        from analysis.report import compute_cache

        context = {"shared": True, "data": None if self.data_dir is None else dataset_fingerprint(self.data_dir)}
        return compute_cache.cached_call(function, args, kwargs, context=context,
                                         log=self.output_dir / compute_cache.COMPUTE_LOG)

    def path(self, name: str, default: Path) -> Path:
        """The path parameter ``name`` resolved like ``data_dir`` and ``output_dir``."""
        return project_path(self.params[name], default)


def report_context(notebook: str, namespace: Mapping[str, Any]) -> ReportContext:
    """Validate the notebook's parameters (taken from ``namespace``, the notebook's globals),
    resolve its paths and configure its exhibits (module doc)."""
    params = validate_notebook_parameters(notebook, namespace)
    if "lang" not in params:
        raise ParameterError(f"notebook {notebook}: its params.yaml declares no 'lang' parameter")
    lang = check_lang(params["lang"])
    data_dir = None
    if "data_dir" in params:  # empty: the default dataset, simulated on first use
        given = str(params["data_dir"]).strip()
        data_dir = data_dir_or_default(project_path(given, Path()) if given else "")
    output_dir = project_path(params.get("output_dir", ""), REPORTS_DIR / notebook)
    output_dir.mkdir(parents=True, exist_ok=True)
    exhibits.configure(output_dir, lang)
    return ReportContext(notebook=notebook, params=params, lang=lang, data_dir=data_dir, output_dir=output_dir)
