"""Fixtures of the DSL tests."""

from __future__ import annotations

import pytest

from cognitionos_dagster.dsl.catalog import Catalog

from .catalog_support import real_catalog


@pytest.fixture
def catalog() -> Catalog:
    return real_catalog()
