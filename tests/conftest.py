"""Shared test helpers: import the dash-named question scripts as modules."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from utils import load_script  # noqa: E402,F401 (the tests import it from here)


@pytest.fixture(scope="session")
def root():
    return ROOT
