"""Fixtures for the Dagster-definition tests."""

import warnings

import dagster as dg
import pytest


def load(home):
    """The code location's Definitions, as Dagster loads them (under the home's configuration)."""
    from acctsync_pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return defs()


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance
