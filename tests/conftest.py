"""Shared test set-up.

The privacy salt is fixed for the test session, so hashing is reproducible and a test run never
creates the per-user salt file in the home directory.
"""

import os

os.environ.setdefault("PEMDA_WFA_SALT", "test-session-salt")


import pytest

#: Fixtures that simulate a whole synthetic dataset: a test using one is marked ``slow``, so
#: ``pytest -m "not slow"`` is the fast inner loop (CI runs everything).
DATASET_FIXTURES = {"default_dataset", "small_dataset", "shared_datasets"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if DATASET_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_datasets(tmp_path_factory):
    """A directory shared by all pytest-xdist workers of this run (the parent of the per-worker
    base temp), so that each synthetic dataset is simulated once per run. ``ensure_dataset``
    locks while it writes, so workers asking at the same time wait for one another."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return root / "shared-datasets"


@pytest.fixture(scope="session")
def default_dataset(shared_datasets):
    """The bundled default synthetic dataset (default size, scenario and seed)."""
    from analysis.simulate import ensure_dataset

    return ensure_dataset(shared_datasets / "default", size="default")


@pytest.fixture(scope="session")
def small_dataset(shared_datasets):
    """The small synthetic dataset (all 552 Pemda, ~190,000 requests; default scenario and seed)."""
    from analysis.simulate import ensure_dataset

    return ensure_dataset(shared_datasets / "small", size="small")
