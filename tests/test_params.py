import pytest

from analysis.errors import ParameterError
from analysis.report.params import load_spec, validate_notebook_parameters, validate_parameters

SPEC = """
parameters:
  outcome: {type: str, default: median_days, choices: [median_days, p90_days], help: outcome}
  adjust: {type: bool, default: true, help: adjust}
  days: {type: int, default: 2, min: 1, max: 5, help: days}
  base: {type: float, default: 2025, help: year}
"""


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "nb.params.yaml").write_text(SPEC)
    return load_spec("nb", tmp_path)


def test_defaults_and_coercion(specs):
    values = validate_parameters(specs, {"days": 3.0, "adjust": "false"}, context="report x")
    assert values == {"outcome": "median_days", "adjust": False, "days": 3, "base": 2025.0}
    assert isinstance(values["days"], int)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"outcome": "mean"}, "'outcome' must be one of: median_days, p90_days; got 'mean'"),
        ({"days": 9}, "'days' must be at most 5"),
        ({"days": 0}, "'days' must be at least 1"),
        ({"days": 2.5}, "'days' must be a whole number"),
        ({"adjust": "yes"}, "'adjust' must be true or false"),
        ({"base": "2025"}, "'base' must be a number"),
        ({"outcome": 3}, "'outcome' must be text"),
        ({"colour": "red"}, "unknown parameter(s) 'colour'"),
    ],
)
def test_bad_values_name_report_and_parameter(specs, values, message):
    with pytest.raises(ParameterError) as excinfo:
        validate_parameters(specs, values, context="report svc-en")
    assert "report svc-en" in str(excinfo.value)
    assert message in str(excinfo.value)


def test_spec_errors(tmp_path):
    (tmp_path / "bad.params.yaml").write_text("parameters:\n  x: {default: 1}\n")
    with pytest.raises(ParameterError, match="needs 'type'"):
        load_spec("bad", tmp_path)
    (tmp_path / "bad2.params.yaml").write_text("parameters:\n  x: {type: int, default: 9, max: 5}\n")
    with pytest.raises(ParameterError, match="at most 5"):
        load_spec("bad2", tmp_path)
    with pytest.raises(ParameterError, match="not found"):
        load_spec("missing", tmp_path)


def test_notebook_validation_ignores_other_globals(specs, tmp_path, monkeypatch):
    monkeypatch.setattr("analysis.report.params.NOTEBOOKS_DIR", tmp_path)
    values = validate_notebook_parameters("nb", {"outcome": "p90_days", "pd": object(), "__name__": "x"})
    assert values["outcome"] == "p90_days"
    with pytest.raises(ParameterError, match="notebook nb: parameter 'days'"):
        validate_notebook_parameters("nb", {"days": 7})
