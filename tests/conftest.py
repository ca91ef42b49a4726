"""Shared test set-up.

The privacy salt is fixed for the test session, so hashing is reproducible and a test run never
creates the per-user salt file in the home directory.
"""

import os

os.environ.setdefault("PEMDA_WFA_SALT", "test-session-salt")
