"""Fixtures shared by the app's tests: one template vault per module, copied per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.support import copy_vault, template_vault


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault with the test sessions, made once per module and copied for each test."""
    return template_vault(tmp_path_factory)


@pytest.fixture
def vault(template: Path, tmp_path: Path) -> Path:
    return copy_vault(template, tmp_path)
