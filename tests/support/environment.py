"""One rule for tests that need something from the machine (PostgreSQL binaries, ../shared).

In CI the thing is always there (.ci/run installs PostgreSQL; CI puts shared/ beside the clone), so its
absence fails the run. On a developer machine without it, the tests say why they did not run (-ra).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
