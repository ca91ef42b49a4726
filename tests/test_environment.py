"""environment.yml (conda) and pyproject.toml (pip) must declare the same packages and pins."""

import re
import tomllib

import yaml

from analysis.paths import PROJECT_ROOT


def _normalise(requirement: str) -> str:
    name, _, version = requirement.partition("==")
    return re.sub(r"[-_.]+", "-", name.strip().lower()) + "==" + version.strip()


def test_environment_matches_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = set(map(_normalise, project["dependencies"] + extras["test"] + extras["spark"]))
    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    conda_pins = {_normalise(req) for req in pip_section if not req.startswith("-e")}
    assert conda_pins == declared
    python = next(item for item in environment["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python == "python=3.12"
    assert project["requires-python"] == ">=3.12"


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["spark"]:
        assert "==" in requirement, f"{requirement} is not pinned"
