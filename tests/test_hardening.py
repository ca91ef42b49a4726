"""Issue #14 (build items): a build that cannot be tricked or left stale.

Each test reproduces one finding of the hardening review. Most run the real build with papermill
replaced by :mod:`build_fakes` (no kernel: fast); the ones that need a real kernel or a real
second process are marked ``slow``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import build_fakes
from analysis.__main__ import main as cli_main
from analysis.errors import UsageError
from analysis.report import config, output_folder, report_folder
from analysis.report.build import build_reports
from test_report_build import NIK, make_project

TESTS_DIR = Path(__file__).parent


@pytest.fixture
def project(tmp_path):
    paths = make_project(tmp_path, with_failures=False)
    return {**paths, "root": tmp_path, "out": tmp_path / "out"}


def _build(project, monkeypatch, **kwargs):
    build_fakes.install(monkeypatch, **kwargs.pop("fake", {}))
    return build_reports(config_path=project["config"], data_dir=project["data"], out_dir=project["out"],
                         jobs=1, stream=open(os.devnull, "w"), **kwargs)


def _cli(project, *extra, out=None):
    return cli_main(["build", "--config", str(project["config"]), "--data", str(project["data"]),
                     "--out", str(out or project["out"]), "--jobs", "1", *extra])


def _set_reports(project, reports):
    project["config"].write_text(yaml.safe_dump({"reports": reports}, sort_keys=False), encoding="utf-8")


def _one_line_error(captured) -> str:
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, captured.err
    return errors[0]


# -- 1. slugs and placeholders -------------------------------------------------------------------

def test_dotdot_slug_is_refused_and_deletes_nothing(project, capsys):
    """`slug: "{region_code}"` with region_code `..` deleted the output folder's parent content."""
    out = project["root"] / "site" / "reports"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("previous build")
    neighbour = project["root"] / "site" / "neighbour.txt"
    neighbour.write_text("next to the output folder")
    for region in ("..", "../..", "../site", ".hidden"):
        _set_reports(project, [{"notebook": "tiny_dep", "slug": "{region_code}",
                                "matrix": {"region_code": [region]}}])
        assert _cli(project, out=out) == 2
        assert "not a safe name" in _one_line_error(capsys.readouterr())
    assert (out / "keep.txt").read_text() == "previous build"
    assert neighbour.read_text() == "next to the output folder"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_slugs_cannot_take_the_names_of_the_build_files(project, capsys):
    for slug in ("manifest.json", "index.html", "history", "changes.json"):
        _set_reports(project, [{"notebook": "tiny_dep", "slug": slug}])
        assert _cli(project) == 2
        assert "name the build's own files" in _one_line_error(capsys.readouterr())
    assert not project["out"].exists()


def test_placeholders_are_plain_substitution(project):
    """`{lang.__class__}` was evaluated by str.format (attribute access)."""
    assert config.fill_placeholders("{lang}-{lang.__class__}-{lang[0]}-{lang!r}", {"lang": "id"}) == \
        "id-{lang.__class__}-{lang[0]}-{lang!r}"
    _set_reports(project, [{"notebook": "tiny_ok", "slug": "ok-{lang}", "matrix": {"lang": ["id"]},
                            "title": "{lang.__class__.__mro__}", "parameters": {"NOTEBOOKS": "{lang.__class__}"}}])
    [spec] = config.load_reports(project["config"])
    assert spec.title == {"id": "{lang.__class__.__mro__}", "en": "{lang.__class__.__mro__}"}
    assert spec.parameters["NOTEBOOKS"] == "{lang.__class__}"
    _set_reports(project, [{"notebook": "tiny_ok", "slug": "ok-{lang.__class__}", "matrix": {"lang": ["id"]}}])
    with pytest.raises(UsageError, match="placeholder"):
        config.load_reports(project["config"])


def test_notebook_names_must_stay_in_the_notebooks_folder(project):
    for name in ("../reports", "/etc/passwd", ".hidden"):
        _set_reports(project, [{"notebook": name, "slug": "x"}])
        with pytest.raises(UsageError, match="not a safe name"):
            config.load_reports(project["config"])


def test_child_path_never_leaves_its_root(tmp_path):
    assert output_folder.child_path(tmp_path, "a-b.c_1") == tmp_path.resolve() / "a-b.c_1"
    (tmp_path / "link").symlink_to(tmp_path.parent)
    for name in ("..", ".", "a/b", "", "link/x", "x" * 121):
        with pytest.raises(UsageError):
            output_folder.child_path(tmp_path, name)


# -- 3. a withheld report leaves nothing readable ------------------------------------------------

@pytest.mark.parametrize("where", ["table", "notebook", "results", "xlsx", "nip"])
def test_withheld_report_leaves_no_file_and_index_says_why(project, monkeypatch, where):
    """The check replaced the *.html pages only; the NIK stayed in tables/*.csv and report.ipynb,
    and .ipynb / results.json were never scanned."""
    first = _build(project, monkeypatch)
    assert {r["status"] for r in first.records} == {"ok"}
    published = project["out"] / "tiny_ok-id"
    assert published.is_dir()
    summary = _build(project, monkeypatch, force=True, fake={"leak": {"tiny_ok-id": where}})
    record = {r["slug"]: r for r in summary.records}["tiny_ok-id"]
    assert record["status"] == "failed" and record["withheld"] is True
    assert record["error"]["ename"] == "PrivacyCheckFailed"
    assert not published.exists()  # the new run and the earlier published one are both gone
    assert not (project["out"] / report_folder.STAGING_DIR).exists()
    codes = {p["code"] for p in record["error"]["problems"]}
    assert codes == {"personal_id_in_output"}
    everything = "".join(p.read_text(errors="replace") for p in project["out"].rglob("*") if p.is_file())
    assert NIK not in everything and build_fakes.NIP not in everything.replace(" ", "")
    index = (project["out"] / "index.html").read_text()
    assert 'data-slug="tiny_ok-id" data-status="withheld"' in index
    assert "withheld" in index and "personal_id_in_output" in index
    assert summary.exit_code == 1
    others = {r["slug"]: r["status"] for r in summary.records if r["slug"] != "tiny_ok-id"}
    assert set(others.values()) == {"ok"}


def test_scan_skips_digests_but_not_identifiers(tmp_path):
    from analysis.report.scrub import check_report_dir

    digest = "ab" + "3372015708900001" + "c" * 46  # a SHA-256 whose digits look like a NIK
    (tmp_path / "provenance.json").write_text(json.dumps({"inputs": {"a.csv": digest}, "n": 3372015708900001}))
    problems = check_report_dir(tmp_path)
    assert [(p.code, p.params["masked"]) for p in problems] == [("personal_id_in_output", "3372************")]


# -- 6. stale report after an interrupted build --------------------------------------------------

def _subprocess_build(project, out, fake, *extra):
    env = {**os.environ, "FAKE_BUILD": json.dumps(fake)}
    return subprocess.run(
        [sys.executable, str(TESTS_DIR / "build_fakes.py"), "--config", str(project["config"]), "--data",
         str(project["data"]), "--out", str(out), "--jobs", "1", *extra],
        capture_output=True, text=True, env=env, timeout=600,
    )


def _results(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("*/results.json"))}


def _listed_ok_reports_are_complete(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    for record in manifest["reports"]:
        if record["status"] in ("ok", "skipped"):
            assert report_folder.verified_status(out / record["slug"], record["key"]) is not None, record["slug"]


@pytest.mark.slow  # four builds in fresh processes
def test_killed_build_leaves_no_stale_report_and_the_next_build_equals_a_clean_one(project):
    """Change the data, SIGKILL the build during its second report, restore the data, rebuild:
    the first report was skipped as unchanged with the interrupted run's numbers in it."""
    requests = project["data"] / "service_requests.csv"
    original = requests.read_bytes()
    clean = project["root"] / "clean"
    assert _subprocess_build(project, clean, {}).returncode == 0
    out = project["out"]
    assert _subprocess_build(project, out, {}).returncode == 0
    with open(requests, "a", encoding="utf-8") as handle:
        handle.write("r99,33.72,bansos,2026-03-01 08:00,2026-03-01 09:00,1,online,5,3372015708909999\n")
    killed = _subprocess_build(project, out, {"kill_on": "tiny_ok-en"})
    assert killed.returncode == -signal.SIGKILL
    _listed_ok_reports_are_complete(out)  # the index never lists a half-written report as ok
    assert (out / report_folder.STAGING_DIR / "tiny_ok-en").is_dir()  # the half-written one stayed aside
    requests.write_bytes(original)
    again = _subprocess_build(project, out, {})
    assert again.returncode == 0, again.stderr
    # tiny_ok-id, built on the changed data, is not reused (nor tiny_dep, its dependent)
    assert "2 to run, 1 unchanged" in again.stderr
    assert _results(out) == _results(clean)
    assert not (out / report_folder.STAGING_DIR).exists()
    _listed_ok_reports_are_complete(out)


# -- 7. the incremental decision uses content hashes ---------------------------------------------

def test_same_size_edit_with_restored_mtime_reruns(project, monkeypatch):
    first = _build(project, monkeypatch)
    requests = project["data"] / "service_requests.csv"
    stat = requests.stat()
    text = requests.read_text()
    requests.write_text(text.replace("r1,33.72", "r7,33.72", 1))  # same size, other content
    os.utime(requests, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert requests.stat().st_size == stat.st_size and requests.stat().st_mtime_ns == stat.st_mtime_ns
    second = _build(project, monkeypatch)
    assert {r["status"] for r in second.records} == {"ok"}  # not "0 to run"
    manifest = json.loads((project["out"] / "manifest.json").read_text())
    import hashlib

    assert manifest["build"]["inputs"]["service_requests.csv"] == hashlib.sha256(requests.read_bytes()).hexdigest()
    assert {r["key"] for r in first.records}.isdisjoint({r["key"] for r in second.records})


def test_edited_output_file_is_not_reused(project, monkeypatch):
    _build(project, monkeypatch)
    results = project["out"] / "tiny_ok-id" / "results.json"
    results.write_text(results.read_text().replace("60.0", "61.0"))
    again = _build(project, monkeypatch)
    assert {r["slug"]: r["status"] for r in again.records}["tiny_ok-id"] == "ok"  # rerun, not "skipped"
    assert json.loads(results.read_text())["results"][0]["estimate"] == 60.0


# -- 9. clear errors and exit 2 ------------------------------------------------------------------

def test_out_that_is_a_file_or_under_a_file_is_a_usage_error(project, capsys):
    afile = project["root"] / "afile"
    afile.write_text("x")
    for out in (afile, afile / "sub"):
        assert _cli(project, out=out) == 2
        assert "--out" in _one_line_error(capsys.readouterr())
    assert afile.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_out_is_a_usage_error(project, capsys):
    out = project["root"] / "readonly"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert _cli(project, out=out) == 2
        assert "--out" in _one_line_error(capsys.readouterr())
    finally:
        out.chmod(0o755)


def test_unwritable_out_is_a_usage_error(project, capsys, monkeypatch):
    """As a read-only folder behaves (also when the tests run as root)."""
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(output_folder.LOCK_FILE):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(output_folder.os, "open", refuse)
    assert _cli(project) == 2
    assert "cannot write to --out" in _one_line_error(capsys.readouterr())


def test_disk_full_keeps_the_previous_manifest_and_exits_2(project, monkeypatch, capsys):
    """A full disk gave a traceback, exit 1 and a 0-byte manifest.json."""
    _build(project, monkeypatch)
    real_fsync = os.fsync
    calls = {"n": 0}

    def full(fd):
        calls["n"] += 1
        if calls["n"] > 3:  # the disk fills up once the first report of the build is published
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(output_folder.os, "fsync", full)
    assert _cli(project, "--force") == 2
    assert "No space left on device" in _one_line_error(capsys.readouterr())
    monkeypatch.setattr(output_folder.os, "fsync", real_fsync)
    manifest = json.loads((project["out"] / "manifest.json").read_text())  # whole, not truncated
    assert {r["slug"] for r in manifest["reports"]} == {"tiny_ok-id", "tiny_ok-en", "tiny_dep"}
    assert (project["out"] / "index.html").read_text().rstrip().endswith("</html>")
    assert not [p for p in project["out"].rglob("*") if p.name.endswith(".tmp")]
    assert not (project["out"] / report_folder.STAGING_DIR).exists()
    _listed_ok_reports_are_complete(project["out"])


# -- 10. --out inside --data ---------------------------------------------------------------------

def test_out_inside_data_or_data_inside_out_is_refused(project, capsys):
    before = sorted(p.name for p in project["data"].iterdir())
    assert _cli(project, out=project["data"] / "reports") == 2
    assert "inside --data" in _one_line_error(capsys.readouterr())
    assert sorted(p.name for p in project["data"].iterdir()) == before
    assert _cli(project, out=project["data"]) == 2
    capsys.readouterr()
    assert _cli(project, out=project["root"]) == 2
    assert "inside --out" in _one_line_error(capsys.readouterr())


# -- 11. one build at a time per output folder ---------------------------------------------------

def test_second_build_into_a_locked_out_exits_2(project, capsys):
    project["out"].mkdir()
    with output_folder.OutputLock(project["out"]):
        assert _cli(project) == 2
        assert "another build is writing" in _one_line_error(capsys.readouterr())
    assert not (project["out"] / "manifest.json").exists()


# -- low -----------------------------------------------------------------------------------------

def test_only_matching_nothing_lists_slugs_and_writes_nothing(project, capsys):
    assert _cli(project, "--only", "nothing-like-this") == 2
    line = _one_line_error(capsys.readouterr())
    assert "matches no report" in line and "tiny_ok-id" in line and "tiny_dep" in line
    assert not project["out"].exists()


def test_invalid_config_creates_no_output_folder(project, capsys):
    _set_reports(project, [{"notebook": "tiny_ok", "parameters": {"scale": "two"}}])
    assert _cli(project) == 2
    assert "'scale'" in capsys.readouterr().err
    assert not project["out"].exists()


def test_summary_counts_only_this_build(project, monkeypatch):
    _build(project, monkeypatch)
    stream = project["root"] / "progress.txt"
    build_fakes.install(monkeypatch)
    with open(stream, "w") as handle:
        summary = build_reports(config_path=project["config"], data_dir=project["data"], out_dir=project["out"],
                                only="tiny_dep", stream=handle)
    assert [r["slug"] for r in summary.records] == ["tiny_ok-id", "tiny_dep"]  # tiny_dep and its input
    assert "0 ran ok, 2 unchanged, 0 failed" in stream.read_text()
    manifest = json.loads((project["out"] / "manifest.json").read_text())
    assert {r["slug"] for r in manifest["reports"]} == {"tiny_ok-id", "tiny_ok-en", "tiny_dep"}


def test_no_machine_path_in_any_output(project, monkeypatch):
    _build(project, monkeypatch)
    root = str(project["root"])
    for path in project["out"].rglob("*"):
        if path.is_file():
            assert root not in path.read_text(errors="replace"), path
    results = json.loads((project["out"] / "tiny_ok-id" / "results.json").read_text())
    assert "data_dir" not in results["parameters"]
    notebook = (project["out"] / "tiny_ok-id" / "report.ipynb").read_text()
    assert "report folder: .\\n" in notebook  # a path printed by the notebook, made relative


@pytest.mark.slow  # two builds in fresh processes
def test_a_second_concurrent_build_gets_exit_2_and_the_first_one_is_complete(project):
    """Two builds into one --out at once both succeeded and lost a report from the manifest."""
    out = project["out"]
    release = project["root"] / "release"
    env = {**os.environ, "FAKE_BUILD": json.dumps({"wait_for": str(release)})}
    command = [sys.executable, str(TESTS_DIR / "build_fakes.py"), "--config", str(project["config"]),
               "--data", str(project["data"]), "--out", str(out), "--jobs", "1"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    lock = out / output_folder.LOCK_FILE
    while not (lock.exists() and lock.read_text()):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    release.touch()
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 2
    assert "another build is writing" in second.stderr and "Traceback" not in second.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert {r["slug"]: r["status"] for r in manifest["reports"]} == {"tiny_ok-id": "ok", "tiny_ok-en": "ok", "tiny_dep": "ok"}
    _listed_ok_reports_are_complete(out)


# -- real kernels: interrupting and killing a build (slow) -----------------------------------------

SLEEP_CELLS = ['from pathlib import Path\nimport time\nPath("started").touch()\ntime.sleep(300)']
KILL_CELLS = [
    "import os, signal\nfrom analysis.report.results_file import ResultEntry, write_results",
    'write_results(output_dir, "tiny_killer", {}, [ResultEntry("one", 1.0, unit="count")])',
    # the kernel's parent is the report's worker; the build leads the workers' process group
    'if os.environ.get("KILL_THE_BUILD"):\n    os.kill(os.getpgid(int(os.environ["JPY_PARENT_PID"])), signal.SIGKILL)',
]


def _add_notebook(project, name: str, cells: list[str]) -> None:
    from test_report_build import _notebook, _spec

    params = 'data_dir = ""  # dataset\noutput_dir = "."  # output\nlang = "id"  # language\n'
    _notebook(project["notebooks"] / f"{name}.ipynb", params, cells)
    _spec(project["notebooks"] / f"{name}.params.yaml", {})
    reports = yaml.safe_load(project["config"].read_text())["reports"]
    reports.append({"notebook": name, "slug": name})
    _set_reports(project, reports)


def _children(pid: int) -> set[int]:
    """Descendant process ids of ``pid`` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("jobs, to_group", [(1, True), (2, False)])
def test_sigint_prints_one_line_exits_130_and_stops_the_kernels(project, jobs, to_group):
    """Ctrl-C printed a ZMQ traceback from the kernel; a SIGINT to the build alone left workers running."""
    _add_notebook(project, "tiny_sleep", SLEEP_CELLS)
    out = project["out"]
    build = subprocess.Popen(
        [sys.executable, "-m", "analysis", "build", "--config", str(project["config"]), "--data", str(project["data"]),
         "--out", str(out), "--only", "tiny_sleep,tiny_ok-id", "--jobs", str(jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (out / report_folder.STAGING_DIR / "tiny_sleep" / "started").exists():
        assert time.monotonic() < deadline and build.poll() is None, build.communicate()
        time.sleep(0.2)
    processes = _children(build.pid)
    assert processes  # the kernel (and with --jobs 2 its worker)
    if to_group:
        os.killpg(build.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    else:
        os.kill(build.pid, signal.SIGINT)
    _, err = build.communicate(timeout=120)
    assert build.returncode == 130
    assert err.rstrip().splitlines()[-1] == "interrupted"
    for marker in ("Traceback", "ZMQ", "IPKernelApp", "Error"):
        assert marker not in err, err
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in processes if _alive(pid)]
    assert not (out / report_folder.STAGING_DIR).exists()
    if (out / "manifest.json").exists():
        _listed_ok_reports_are_complete(out)


@pytest.mark.slow
def test_build_killed_inside_a_real_kernel_recovers_to_a_clean_build(project):
    """The same fault as the fake-runner test, with papermill and a kernel: the kernel kills the
    build during the second report."""
    _add_notebook(project, "tiny_killer", KILL_CELLS)
    command = [sys.executable, "-m", "analysis", "build", "--config", str(project["config"]), "--data",
               str(project["data"]), "--jobs", "1", "--only", "tiny_ok-id,tiny_killer"]
    clean = subprocess.run([*command, "--out", str(project["root"] / "clean")], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    requests = project["data"] / "service_requests.csv"
    original = requests.read_bytes()
    with open(requests, "a", encoding="utf-8") as handle:
        handle.write("r99,33.72,bansos,2026-03-01 08:00,2026-03-01 09:00,1,online,5,3372015708909999\n")
    out = project["out"]
    killed = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True,
                            env={**os.environ, "KILL_THE_BUILD": "1"}, start_new_session=True)
    assert killed.returncode == -signal.SIGKILL
    assert json.loads((out / "tiny_ok-id" / "results.json").read_text())["results"][0]["estimate"] == 62.0
    _listed_ok_reports_are_complete(out)
    requests.write_bytes(original)
    again = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _results(out) == _results(project["root"] / "clean")
    assert not (out / report_folder.STAGING_DIR).exists()


def test_scan_does_not_take_decimal_numbers_for_identifiers(tmp_path):
    """A p-value written as 9.464256505911037e-08 withheld the budget report (a NIK by the value
    rule: 16 digits, 'grouped' by its decimal point); a NIK written as a float is still found."""
    from analysis.report.scrub import check_report_dir

    (tmp_path / "results.json").write_text('{"pretrend_pvalue": 9.464256505911037e-08, "x": 1234.5678901234567}')
    (tmp_path / "table.csv").write_text("fuel,False,-0.064,66,9.464256505911037e-08\n")
    assert check_report_dir(tmp_path) == []
    (tmp_path / "table.csv").write_text("applicant,3372015708900001.0\n")
    assert [n.code for n in check_report_dir(tmp_path)] == ["personal_id_in_output"]
