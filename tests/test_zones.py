"""Time zone names: a name is accepted exactly when the zone database lists it.

The check loads the zone (fast) instead of listing the database (it opens every file); these
cases pin that both give the same verdict, for every listed name and for files that load but
are not zone names."""
import zoneinfo

import pytest

from engine.core import zones

LISTED = sorted(zoneinfo.available_timezones())
NOT_NAMES = ["posixrules", "posix/Europe/Berlin", "right/UTC", "Europe", "europe/berlin", "utc", "Europe/Berlin ",
             "", "../etc/passwd", "/etc/localtime", "./UTC", "Europe//Berlin", "Europe/./Berlin", "zone.tab",
             "tzdata.zi", "Europe/Berlin\x00", "A" * 5000, "Mars/Olympus"]


def test_every_listed_zone_is_accepted():
    assert [name for name in LISTED if zones.timezone_problem(name) is not None] == []


@pytest.mark.parametrize("name", NOT_NAMES)
def test_a_file_or_text_that_is_no_listed_zone_is_refused(name):
    assert name not in LISTED
    problem = zones.timezone_problem(name, ("spec", "timezone"))
    assert problem is not None and problem.path == ("spec", "timezone")


def test_a_valid_name_does_not_list_the_database():
    zones.available.cache_clear()
    assert zones.timezone_problem("Europe/Copenhagen") is None
    assert zones.available.cache_info().misses == 0
