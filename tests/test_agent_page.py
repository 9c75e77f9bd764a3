"""The agent page in a real browser: headless Chromium from Debian's packages (``chromium`` and
``chromium-driver``) driven by Selenium, against a real ``triage serve`` subprocess.

Without Chromium the browser tests skip with the reason, except under CI (``CI`` set to a true
value, as ``.ci/run`` does after installing it): there they fail, so a CI run never passes them by
not running them.  Screenshots go to each test's ``tmp_path``; with ``TRIAGE_PAGE_SCREENSHOT=FILE``
the Easter test also writes its screenshot to FILE (that is how README's ``examples/agent-page.png``
is made).
"""
from __future__ import annotations

import json
import os
import re
import shutil

import httpx
import pytest

import engine
from conftest import EXAMPLES, POLICIES, mutate
from serving import Server
from engine.report.clock import queue_rows

CHROMIUM = os.environ.get("TRIAGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("TRIAGE_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
WALLET_NOW = "2024-04-09T15:00:00+02:00"


# --------------------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("serve"), "--policies", POLICIES)
    yield running
    running.stop()


def _log() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLES / "events.jsonl").read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- the picture over HTTP
def test_timeline_endpoint_answers_svg_and_the_apis_errors(server):
    wallet = {"id": "w", "created_at": "2024-03-27T16:00:00+01:00", "service": "wallet", "symptom": "down",
              "customers_affected": 8, "workaround": False}
    answer = httpx.post(server.url + "/v1/timeline", json=wallet)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.text == engine.PolicySet.load(POLICIES).explain_svg(wallet)  # the CLI's picture, byte for byte

    bad = {"id": "w", "created_at": "2024-03-27T16:00:00+01:00", "users_affected": -1}
    refused = httpx.post(server.url + "/v1/timeline", json=bad)
    assert refused.status_code == 422
    assert refused.json() == httpx.post(server.url + "/v1/evaluate", json=bad).json()  # the same error record

    clock = httpx.post(server.url + "/v1/timeline", params={"ticket_id": "T-1", "now": WALLET_NOW}, json=_log())
    assert clock.status_code == 200 and 'class="pause"' in clock.text
    unknown = httpx.post(server.url + "/v1/timeline", params={"ticket_id": "T-77", "now": WALLET_NOW}, json=_log())
    assert unknown.status_code == 404 and unknown.json()["field"] == "ticket_id"
    assert httpx.post(server.url + "/v1/timeline", json=_log()).status_code == 400  # a log needs ?ticket_id=
    assert httpx.post(server.url + "/v1/timeline", params={"now": "soon"}, json=wallet).json()["field"] == "now"
    assert httpx.post(server.url + "/v1/timeline", content=b"{").status_code == 400


def test_the_page_and_its_files_come_from_the_service_only(server):
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in ("page.js", "page.css"):
        asset = httpx.get(f"{server.url}/static/{name}")
        assert asset.status_code == 200
        # nothing fetched from another host: no absolute URL in the page's files
        assert not re.search(r"(?:src|href|url)\s*[=(]\s*[\"']?(?:https?:)?//", asset.text + page.text)


# --------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("the Python package selenium (the 'browser' extra)")
    if missing:
        reason = (f"no headless browser: {', '.join(missing)} missing; install Debian's chromium and "
                  f"chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)")
        if IN_CI:
            pytest.fail("CI is set, so the browser tests must run: " + reason, pytrace=False)
        pytest.skip(reason)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100", "--lang=en-GB", "--hide-scrollbars"):
        options.add_argument(argument)
    # the driver's path is given, so Selenium Manager downloads nothing; TZ fixes the "your time" column
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TZ": "America/New_York"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _open(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1280, 1100)
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements("id", "f-service"))


def _fill(browser, values: dict) -> None:
    from selenium.webdriver.support.ui import Select

    for name, value in values.items():
        if isinstance(value, bool):
            unknown = browser.find_element("id", f"u-{name}")
            box = browser.find_element("id", f"f-{name}")
            if unknown.is_selected():
                unknown.click()
            if box.is_selected() != value:
                box.click()
            continue
        field = browser.find_element("id", f"f-{name}")
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(str(value))


def _decide(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda b: b.find_element("id", "decide").is_enabled())
    before = browser.execute_script("return document.getElementById('decision').innerHTML")
    browser.find_element("id", "decide").click()
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return document.getElementById('decision').innerHTML") != before
        or b.find_elements("css selector", "#fields .field.invalid"))


def _screenshot(browser, path: Path) -> Path:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    width = browser.execute_script("return window.innerWidth")
    browser.set_window_size(width, max(height + 120, 600))
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def test_easter_wallet_outage_reads_p2_with_its_due_dates_and_the_holidays_shaded(browser, server, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, server)
    _fill(browser, {"id": "wallet-easter", "created_at": "2024-03-27T16:00:00+01:00", "service": "wallet",
                    "symptom": "down", "customers_affected": 8, "workaround": False})
    _decide(browser)
    priority = browser.find_element("id", "priority")
    assert priority.get_attribute("data-priority") == "P2"
    assert priority.find_element("class name", "priority-code").text == "P2"
    targets = engine.PolicySet.load(POLICIES).vocabulary()["targets"]["partner-support"]["priorities"]
    assert browser.find_element("id", "priority-name").text == targets["P2"]["name"]
    assert browser.find_elements("css selector", "#matched-rules li.decided")
    rows = {row.get_attribute("data-kind"): row for row in browser.find_elements("css selector", "#due-dates tbody tr")}
    calendar = {kind: row.find_element("class name", "due-calendar").text for kind, row in rows.items()}
    assert calendar == {"response": "Tue 2024-04-02 12:00 CEST", "resolution": "Mon 2024-04-08 16:00 CEST"}
    local = {kind: row.find_element("class name", "due-local").text for kind, row in rows.items()}
    assert local == {"response": "Tue 2024-04-02 06:00 GMT-4", "resolution": "Mon 2024-04-08 10:00 GMT-4"}
    assert "sha256:" in browser.find_element("id", "policy").text

    WebDriverWait(browser, 20).until(lambda b: b.find_elements("css selector", "#timeline svg"))
    svg = browser.find_element("css selector", "#timeline svg")
    due = sorted(g.get_attribute("data-at") for g in svg.find_elements("css selector", "g.due"))
    assert due == ["2024-04-02T12:00:00+02:00", "2024-04-08T16:00:00+02:00"]
    holidays = {g.get_attribute("data-date"): g for g in svg.find_elements("css selector", "g.holiday")}
    assert {d: g.get_attribute("data-name") for d, g in holidays.items()} == {
        "2024-03-28": "Maundy Thursday", "2024-03-29": "Good Friday", "2024-03-31": "Easter Sunday",
        "2024-04-01": "Easter Monday"}
    for g in holidays.values():  # shaded (a hatched fill) and named in visible text
        shade = g.find_element("css selector", "rect.day-bg")
        assert "triage-hatch" in browser.execute_script("return getComputedStyle(arguments[0]).fill", shade)
        words = [span.text for span in g.find_elements("css selector", "text.name tspan")]  # a line a word
        assert " ".join(words) == g.get_attribute("data-name") and all(words)
    (dst,) = svg.find_elements("css selector", "g.dst")
    assert dst.get_attribute("data-at").startswith("2024-03-31")

    # every field has a label; nothing came from another host
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels.length).map(e => e.id)")
    assert unlabelled == []
    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert set(origins) <= {server.url}

    shot = _screenshot(browser, tmp_path / "easter-wallet.png")
    if os.environ.get("TRIAGE_PAGE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["TRIAGE_PAGE_SCREENSHOT"])


def test_web_portal_down_shows_the_p1_hint_with_extent_and_workaround_highlighted(browser, server, tmp_path):
    from selenium.webdriver.common.keys import Keys

    _open(browser, server)
    _fill(browser, {"service": "web_portal", "symptom": "down"})
    browser.find_element("id", "f-id").send_keys(Keys.ENTER)  # the keyboard submits the form
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 20).until(lambda b: b.find_elements("id", "review-hint"))
    hint = browser.find_element("id", "review-hint")
    assert "could be P1 if extent and workaround were known" in hint.text
    highlighted = [f.get_attribute("data-field") for f in browser.find_elements("css selector", "#fields .field.needed")]
    assert sorted(highlighted) == ["extent", "workaround"]
    for name in highlighted:  # not by colour alone: a visible badge says so
        badge = browser.find_element("id", f"b-{name}")
        assert badge.is_displayed() and badge.text == "could make it P1"
    assert not browser.find_element("id", "b-service").is_displayed()
    # the hint's links take the keyboard to the field
    hint.find_element("link text", "extent").send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "f-extent"
    _screenshot(browser, tmp_path / "review-hint.png")

    # knowing them clears the highlight
    _fill(browser, {"extent": "all", "workaround": False})
    _decide(browser)
    assert browser.find_element("id", "priority").get_attribute("data-priority") == "P1"
    assert browser.find_elements("css selector", "#fields .field.needed") == []


def test_a_bad_value_shows_the_apis_field_named_error_next_to_its_field(browser, server, tmp_path):
    _open(browser, server)
    _fill(browser, {"created_at": "next Tuesday", "users_affected": -1, "service": "wallet"})
    _decide(browser)
    ticket = {"id": browser.find_element("id", "f-id").get_attribute("value"), "created_at": "next Tuesday",
              "users_affected": -1, "service": "wallet"}
    record = httpx.post(server.url + "/v1/evaluate", json=ticket).json()
    assert {p["field"] for p in record["problems"]} == {"created_at", "users_affected"}
    for problem in record["problems"]:
        field = browser.find_element("id", f"field-{problem['field']}")
        assert "invalid" in field.get_attribute("class").split()
        message = field.find_element("id", f"e-{problem['field']}")  # inside the field's own box
        assert message.is_displayed() and message.text.endswith(f"{problem['field']}: {problem['error']}")
        control = field.find_element("id", f"f-{problem['field']}")
        assert control.get_attribute("aria-invalid") == "true"
        assert f"e-{problem['field']}" in control.get_attribute("aria-describedby").split()
    assert browser.switch_to.active_element.get_attribute("id") == "f-created_at"  # focus on the first one
    assert not browser.find_element("id", "field-service").get_attribute("class").count("invalid")
    _screenshot(browser, tmp_path / "bad-value.png")


def test_event_log_shows_the_queue_in_triage_queue_order_and_the_clock(browser, server, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, server)
    text = (EXAMPLES / "events.jsonl").read_text()
    browser.execute_script("document.getElementById('events-text').value = arguments[0]", text)
    browser.find_element("id", "events-now").send_keys(WALLET_NOW)
    browser.find_element("id", "show-queue").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements("css selector", "#queue tbody tr"))
    shown = [[cell.text for cell in row.find_elements("css selector", "td, th")]
             for row in browser.find_elements("css selector", "#queue tbody tr")]
    policies = engine.PolicySet.load(POLICIES)
    from datetime import datetime
    expected = queue_rows(list(policies.queue(_log(), now=datetime.fromisoformat(WALLET_NOW))))
    assert shown == expected  # the CLI's rows, NEXT DUE with its zone's abbreviation (CEST) as the CLI writes it
    WebDriverWait(browser, 20).until(lambda b: b.find_elements("css selector", "#clock-timeline svg"))
    svg = browser.find_element("css selector", "#clock-timeline svg")
    assert svg.get_attribute("data-first-day") == "2024-03-27"  # T-1, the log's first ticket
    assert len(svg.find_elements("css selector", "g.pause")) == 1
    assert len(svg.find_elements("css selector", "g.event")) == 5
    _screenshot(browser, tmp_path / "event-log.png")


def test_the_page_fits_a_phone_and_1280_px(browser, server, tmp_path):
    for width, height in ((390, 844), (1280, 900)):
        _open(browser, server)
        browser.set_window_size(width, height)
        _fill(browser, {"service": "web_portal", "symptom": "down"})
        _decide(browser)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
        for name in ("f-service", "decide"):
            box = browser.find_element("id", name).rect
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
        browser.save_screenshot(str(tmp_path / f"width-{width}.png"))


def test_a_service_with_a_token_asks_for_it_and_decides_once_it_is_given(browser, tmp_path):
    """Started with --token-file, the service refuses the page's API calls until the agent gives the
    token: the page opens its token box and says why; once the token is typed, the form appears and
    decides, and the token stays in the tab (sessionStorage), never in the page's address."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    token = "agent-page-token-7f3c"
    (tmp_path / "token").write_text(token + "\n")
    running = Server(tmp_path, "--policies", POLICIES, "--token-file", tmp_path / "token")
    try:
        refused = httpx.get(running.url + "/v1/policy")
        assert refused.status_code == 401  # the API needs the token ...
        browser.get(running.url + "/")  # ... the page itself does not
        WebDriverWait(browser, 20).until(lambda b: b.find_element("id", "token-box").get_attribute("open"))
        assert not browser.find_elements("id", "f-service")  # no form without the vocabulary
        # the service's own reason, where the policy's digest will show
        WebDriverWait(browser, 20).until(lambda b: refused.json()["error"] in b.find_element("id", "policy-status").text)
        assert browser.switch_to.active_element.get_attribute("id") == "token"  # focused, ready to type

        browser.find_element("id", "token").send_keys(token, Keys.TAB)  # 'change' fires as the box loses focus
        WebDriverWait(browser, 20).until(lambda b: b.find_elements("id", "f-service"))
        assert browser.execute_script("return sessionStorage.getItem('triage-token')") == token
        assert token not in browser.current_url
        _fill(browser, {"id": "wallet-easter", "created_at": "2024-03-27T16:00:00+01:00", "service": "wallet",
                        "symptom": "down", "customers_affected": 8, "workaround": False})
        _decide(browser)
        assert browser.find_element("id", "priority").get_attribute("data-priority") == "P2"
        assert browser.find_element("id", "policy-status").text.startswith("policy sha256:")
    finally:
        running.stop()


def _extent_values(browser) -> list[str]:
    """The options of the `extent` select, read in one script: the page may rebuild the form (a policy
    reload) between finding an option and reading it, which a WebDriver element would not survive."""
    return browser.execute_script("return [...document.querySelectorAll('#f-extent option')].map(o => o.value)")


@pytest.mark.slow
def test_the_form_follows_the_policy_after_a_reload(browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    running = Server(tmp_path, "--policies", policies, "--reload-interval", "0.2")
    try:
        _open(browser, running)
        assert "most" not in _extent_values(browser)
        mutate(policies / "triage.yaml", "values: [all, several, single]", "values: [all, most, several, single]")
        WebDriverWait(browser, 40).until(lambda b: "most" in _extent_values(b))
    finally:
        running.stop()
