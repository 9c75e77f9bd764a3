"""The clock as a picture: ``triage explain --format svg`` and the library's SVG timeline."""
import json
import xml.etree.ElementTree as ET

import pytest

import engine
from cli import cli
from conftest import EXAMPLES, POLICIES
from engine.report import decision_svg, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
WALLET = {"id": "wallet-outage", "created_at": "2024-03-27T16:00:00+01:00", "service": "wallet", "symptom": "down",
          "customers_affected": 8, "workaround": False}


@pytest.fixture(scope="module")
def policies():
    return engine.PolicySet.load(POLICIES)


def _groups(root, cls):
    return [g for g in root.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def _texts(element) -> str:
    return " ".join("".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def test_explain_format_svg_draws_the_easter_case(runner, tmp_path):
    ticket = tmp_path / "wallet.json"
    ticket.write_text(json.dumps(WALLET))
    result = runner.invoke(cli, ["explain", str(ticket), "--format", "svg", "--policies", str(POLICIES)])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.output)
    assert root.tag == f"{SVG}svg" and root.get("data-timezone") == "Europe/Copenhagen"
    assert (root.get("data-first-day"), root.get("data-last-day")) == ("2024-03-27", "2024-04-08")

    # one labelled marker per due date
    due = {g.get("data-metric"): g for g in _groups(root, "due")}
    assert {m: g.get("data-at") for m, g in due.items()} == {
        "first_response": "2024-04-02T12:00:00+02:00", "resolution": "2024-04-08T16:00:00+02:00"}
    assert "response due Tue 2024-04-02 12:00 CEST" in _texts(due["first_response"])
    assert "resolution due Mon 2024-04-08 16:00 CEST" in _texts(due["resolution"])

    # the Danish Easter holidays in range, shaded and named in text (not by colour alone)
    holidays = {g.get("data-date"): g for g in _groups(root, "holiday")}
    assert {d: g.get("data-name") for d, g in holidays.items()} == {
        "2024-03-28": "Maundy Thursday", "2024-03-29": "Good Friday",
        "2024-03-31": "Easter Sunday", "2024-04-01": "Easter Monday"}
    for day, g in holidays.items():
        assert _texts(g).replace(" ", "").endswith(g.get("data-name").replace(" ", ""))
        assert g.find(f"{SVG}rect").get("class") == "day-bg"
    weekends = {g.get("data-date"): g.get("data-name") for g in _groups(root, "weekend")}
    assert weekends == {"2024-03-30": "Saturday", "2024-04-06": "Saturday", "2024-04-07": "Sunday"}

    # the change to summer time, once, on Sunday 31 March
    (dst,) = _groups(root, "dst")
    assert (dst.get("data-at"), dst.get("data-from"), dst.get("data-to")) == (
        "2024-03-31T03:00:00+02:00", "+01:00", "+02:00")
    assert "CET to CEST" in _texts(dst)

    # open hours: one band per open working day (27 Mar; 2-5 Apr; 8 Apr), none on the shaded days
    opens = _groups(root, "open")
    assert sorted(g.get("data-start")[:10] for g in opens) == [
        "2024-03-27", "2024-04-02", "2024-04-03", "2024-04-04", "2024-04-05", "2024-04-08"]
    assert all(g.get("data-start")[11:16] == "09:00" and g.get("data-end")[11:16] == "17:00" for g in opens)


def test_the_picture_is_deterministic_and_escapes_ticket_text(policies):
    hostile = dict(WALLET, id='<script>alert("x")</script> & \x01 ]]>')
    first = policies.explain_svg(hostile)
    assert first == policies.explain_svg(hostile)
    assert "<script" not in first and "\x01" not in first
    root = ET.fromstring(first)  # well-formed XML
    assert root.find(f"{SVG}title").text.startswith('ticket <script>alert("x")</script> & \ufffd ]]>')


def test_markers_and_bands_sit_where_their_instants_are(policies):
    root = ET.fromstring(decision_svg(policies.evaluate(WALLET)))
    line_x = {g.get("data-metric"): float(g.find(f"{SVG}line").get("x1")) for g in _groups(root, "due")}
    days = {g.get("data-date"): g.find(f"{SVG}rect") for g in _groups(root, "day")}
    apr2, apr8 = days["2024-04-02"], days["2024-04-08"]
    # 12:00 is half way through 2 April; 16:00 two thirds through 8 April
    assert line_x["first_response"] == pytest.approx(float(apr2.get("x")) + float(apr2.get("width")) / 2, abs=0.1)
    assert line_x["resolution"] == pytest.approx(float(apr8.get("x")) + float(apr8.get("width")) * 16 / 24, abs=0.1)


def test_an_event_log_draws_pauses_events_and_met_targets(runner):
    result = runner.invoke(cli, ["explain", "T-1", "--events", str(EXAMPLES / "events.jsonl"), "--format", "svg",
                                 "--now", "2024-04-09T15:00:00+02:00", "--policies", str(POLICIES)])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.output)
    events = [(g.get("data-type"), g.get("data-at")) for g in _groups(root, "event")]
    assert events == [("created", "2024-03-27T16:00:00+01:00"), ("agent_reply", "2024-04-02T11:30:00+02:00"),
                      ("status", "2024-04-03T10:00:00+02:00"), ("status", "2024-04-04T10:00:00+02:00"),
                      ("status", "2024-04-09T12:00:00+02:00")]
    (pause,) = _groups(root, "pause")
    assert (pause.get("data-status"), pause.get("data-start"), pause.get("data-end")) == (
        "pending", "2024-04-03T10:00:00+02:00", "2024-04-04T10:00:00+02:00")
    (stopped,) = _groups(root, "stopped")
    assert (stopped.get("data-status"), stopped.get("data-start")) == ("solved", "2024-04-09T12:00:00+02:00")
    due = {g.get("data-metric"): (g.get("data-state"), g.get("data-at")) for g in _groups(root, "due")}
    assert due == {"first_response": ("met", "2024-04-02T11:30:00+02:00"),
                   "resolution": ("met", "2024-04-09T12:00:00+02:00")}
    assert "first_response met Tue 2024-04-02 11:30 CEST" in _texts(root)
    (now,) = _groups(root, "now")  # inside the picture's days, so drawn
    assert now.get("data-at") == "2024-04-09T15:00:00+02:00"


def test_a_ticket_that_cannot_be_clocked_is_an_error_not_a_picture(policies, tmp_path):
    events = [{"ticket_id": "T-9", "at": "2024-03-27T16:00:00+01:00", "type": "created",
               "ticket": {"service": "no-such-service"}}]
    timeline = policies.clock_timeline(events, "T-9")
    assert timeline.clock is None
    with pytest.raises(engine.TriageError, match="T-9 could not be clocked: ticket.service: 'no-such-service'"):
        timeline_svg(timeline)
