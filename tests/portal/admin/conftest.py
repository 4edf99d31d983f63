"""The admin tests' fixtures: their world at the live localglobus (admin/world.py)."""

from __future__ import annotations

import pytest

from tests.portal.admin.world import World, build_world, tear_down_world


@pytest.fixture(scope="module")
def world(localglobus) -> World:
    """The admin tests' users, roles and collections; the roles on Shared Results last
    for the module only."""
    world = build_world(localglobus)
    yield world
    tear_down_world(world)
