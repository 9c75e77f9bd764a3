"""Time zone names: a name is accepted exactly when the zone database lists it.

The check loads the zone (fast) instead of listing the database (it opens every file); these
cases pin that both give the same verdict, for every listed name and for files that load but
are not zone names."""
import json
import os
import shutil
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


# --------------------------------------------------------------------------- whole-minute offsets
def _weekly(tz) -> bool:
    """The verdict by its definition: every offset, sampled weekly from 1970 to 2100, in whole minutes."""
    from datetime import datetime

    return all(datetime.fromtimestamp(s, tz).utcoffset().total_seconds() % 60 == 0
               for s in range(0, 4_133_980_800, 7 * 86_400))


@pytest.fixture
def offsets_store(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    zones.OFFSETS.forget()
    yield tmp_path
    zones.OFFSETS.forget()


@pytest.mark.parametrize("name", ["Africa/Monrovia", "Europe/Copenhagen", "America/St_Johns", "Asia/Kathmandu",
                                  "Australia/Lord_Howe", "UTC"])
def test_the_verdict_on_a_zone_is_its_weekly_sample_first_and_when_remembered(offsets_store, name):
    tz = zoneinfo.ZoneInfo(name)
    expected = _weekly(tz)
    assert zones.whole_minute_offsets(tz) is expected
    zones.OFFSETS.forget()  # as a later run: read from the file
    assert zones.whole_minute_offsets(tz) is expected
    assert expected is (name != "Africa/Monrovia")  # -00:44:30 until 1972


def test_a_remembered_verdict_is_read_not_sampled_again_and_a_changed_zone_file_is_sampled(offsets_store):
    """The verdict is kept under the zone file's digest: a new zone database is judged afresh."""
    folder = offsets_store / "zones"
    (folder / "Test").mkdir(parents=True)
    source = {name: next(p for p in (os.path.join(d, name) for d in zoneinfo.TZPATH) if os.path.isfile(p))
              for name in ("Africa/Monrovia", "Europe/Copenhagen")}
    zoneinfo.reset_tzpath([str(folder)])
    try:
        for name, verdict in (("Africa/Monrovia", False), ("Europe/Copenhagen", True)):
            shutil.copyfile(source[name], folder / "Test" / "Zone")
            zoneinfo.ZoneInfo.clear_cache()
            assert zones.whole_minute_offsets(zoneinfo.ZoneInfo("Test/Zone")) is verdict
        (stored,) = (offsets_store / "cache").glob("zone-offsets-*.json")
        data = json.loads(stored.read_text())
        assert sorted(data["answers"].values()) == [False, True]  # one verdict per file content
        for key in data["answers"]:  # tampered with by hand: the file is what is believed...
            data["answers"][key] = not data["answers"][key]
        stored.write_text(json.dumps(data))
        zones.OFFSETS.forget()
        zoneinfo.ZoneInfo.clear_cache()
        assert zones.whole_minute_offsets(zoneinfo.ZoneInfo("Test/Zone")) is False  # (Copenhagen's file now)
        for key in data["answers"]:  # ...unless it is not a verdict at all: sampled again
            data["answers"][key] = "yes"
        stored.write_text(json.dumps(data))
        zones.OFFSETS.forget()
        assert zones.whole_minute_offsets(zoneinfo.ZoneInfo("Test/Zone")) is True
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


def test_fixed_offsets_are_read_directly():
    from datetime import timedelta, timezone

    assert zones.whole_minute_offsets(timezone(timedelta(hours=5, minutes=30))) is True
    assert zones.whole_minute_offsets(timezone(timedelta(minutes=-44, seconds=-30))) is False
    assert zones.whole_minute_offsets(None) is True
