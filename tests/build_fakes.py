"""A stand-in for papermill in build tests: ``analysis.report.runner.run_notebook`` replaced by a
function that writes what a tiny notebook would (an executed notebook, ``results.json``, a table)
in milliseconds, without a kernel, in the build's own process (``runner.IN_PROCESS``). Everything
else of the build (staging, checks, publication, manifest, index, history) runs for real.

Behaviour is set per test with :func:`install` (in process) or, for a build in a subprocess, the
``FAKE_BUILD`` environment variable (JSON) read by :func:`install_from_environment`:

- ``kill_on``: slug whose run ``SIGKILL``s the build process (after writing part of its files);
- ``leak``: ``{slug: "table" | "notebook" | "results" | "xlsx" | "nip"}`` puts a personal
  identifier into that output;
- ``counter``: a file to append each run's slug to (to count runs across processes);
- ``sleep``: seconds each report takes;
- ``wait_for``: a file each report waits for (at most a minute) before it finishes;
- ``offset``: ``{slug: value}`` added to that report's estimate (a result that moved for no reason).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import zipfile
from pathlib import Path

import nbformat

from analysis.report import runner
from analysis.report.results_file import ResultEntry, write_results

NIK = "3372015708900001"
#: a NIP-shaped value (birth 1980-01-01, appointed 2005-01, male, serial 001) not in any input
NIP = "198001012005011001"
BEHAVIOUR: dict = {}


def _requests(data_dir: Path) -> int:
    lines = (Path(data_dir) / "service_requests.csv").read_text(encoding="utf-8").strip().splitlines()
    return len(lines) - 1


def fake_run_notebook(job: runner.ReportJob, executed: Path) -> None:
    out = Path(job.output_dir)
    if BEHAVIOUR.get("counter"):
        with open(BEHAVIOUR["counter"], "a", encoding="utf-8") as handle:
            handle.write(job.slug + "\n")
    time.sleep(float(BEHAVIOUR.get("sleep", 0)))
    deadline = time.monotonic() + 60
    while BEHAVIOUR.get("wait_for") and not Path(BEHAVIOUR["wait_for"]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    leak = (BEHAVIOUR.get("leak") or {}).get(job.slug)
    scale = float(job.parameters.get("scale", 1.0))
    n = _requests(job.parameters["data_dir"]) if "data_dir" in job.parameters else 0
    (out / "tables").mkdir(exist_ok=True)
    table = "service_type,n_requests\nperizinan,25\n"
    if leak == "table":
        table += f"applicant,{NIK}\n"
    (out / "tables" / "volume.csv").write_text(table, encoding="utf-8")
    if leak == "xlsx":
        with zipfile.ZipFile(out / "tables" / "volume.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/sharedStrings.xml", f"<sst><si><t>{NIK}</t></si></sst>")
    if BEHAVIOUR.get("kill_on") == job.slug:
        os.kill(os.getpid(), signal.SIGKILL)  # the build (reports run in its process)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["papermill"] = {"parameters": dict(job.parameters), "input_path": job.notebook_path,
                                "output_path": str(executed)}
    injected = nbformat.v4.new_code_cell("# Parameters\n", metadata={"tags": ["injected-parameters"]})
    printed = f"requests: {n}\nreport folder: {out}\n" + (f"applicant {NIK}\n" if leak == "notebook" else "")
    shown = nbformat.v4.new_code_cell("print(summary)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=printed)])
    nb.cells = [injected, shown]
    nbformat.write(nb, executed)
    value = scale * n + float((BEHAVIOUR.get("offset") or {}).get(job.slug, 0.0))
    entries = [ResultEntry("requests", value, 0.5, value - 1, value + 1, "days", "Scaled requests")]
    if leak == "results":
        entries.append(ResultEntry("oops", float(NIK), unit="count", label="identifier"))
    if leak == "nip":
        entries.append(ResultEntry("oops", None, unit="count", label=f"officer {NIP[:8]} {NIP[8:14]} {NIP[14]} {NIP[15:]}"))
    write_results(out, job.slug, {"scale": scale, "data_dir": job.parameters.get("data_dir", "")}, entries)


def install(monkeypatch=None, **behaviour) -> None:
    """Replace ``run_notebook`` (with ``monkeypatch`` when given) and set the behaviour."""
    BEHAVIOUR.clear()
    BEHAVIOUR.update(behaviour)
    replacements = {"run_notebook": fake_run_notebook, "IN_PROCESS": True}
    for name, value in replacements.items():
        if monkeypatch is not None:
            monkeypatch.setattr(runner, name, value)
        else:
            setattr(runner, name, value)


def install_from_environment() -> None:
    install(**json.loads(os.environ.get("FAKE_BUILD", "{}")))


if __name__ == "__main__":  # python build_fakes.py <build arguments>: a build with the fake runner
    install_from_environment()
    from analysis.__main__ import main

    sys.exit(main(["build", *sys.argv[1:]]))
