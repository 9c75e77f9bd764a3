"""An event's ``at`` is read from remembered parts (date, hours and minutes, seconds with the offset)
and, with a fraction of a second, the fraction's microseconds: always the instant parse_rfc3339 gives,
and refused exactly when it refuses, whatever the memos hold."""
from hypothesis import given, settings, strategies as st

from engine.calendar.index import epoch_us
from engine.facts.values import parse_rfc3339
from engine.sla.events import at_us_of

DIGITS = st.text("0123456789", min_size=1, max_size=10) | st.sampled_from(["", "١٢٣", "1a", "123456789012"])
OFFSETS = st.sampled_from(["Z", "z", "+02:00", "-05:30", "+00:00", "+24:00", "+01:60", "-23:59", "+5:00", "", "X"])


def expected(text: str) -> int | None:
    try:
        return epoch_us(parse_rfc3339(text))
    except ValueError:
        return None


@st.composite
def instants(draw) -> str:
    day = f"{draw(st.integers(1970, 2100)):04d}-{draw(st.integers(1, 13)):02d}-{draw(st.integers(1, 31)):02d}"
    clock = f"{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}:{draw(st.integers(0, 60)):02d}"
    fraction = draw(st.none() | DIGITS)
    return day + draw(st.sampled_from("Tt ")) + clock + ("" if fraction is None else "." + fraction) + draw(OFFSETS)


@settings(max_examples=400, deadline=None)
@given(st.lists(instants(), min_size=1, max_size=6))
def test_at_is_the_instant_parse_rfc3339_gives(texts):
    # every text twice, in turn: the first reading may fill the memos the later ones read from,
    # including a text with a fraction read from the parts of one without (and the other way round)
    for text in texts + texts + [t.split(".")[0] + t[-6:] for t in texts if "." in t]:
        assert at_us_of(text) == expected(text), text


def test_milliseconds_read_from_the_parts_of_another_instant():
    assert at_us_of("2024-04-02T09:30:00+02:00") == expected("2024-04-02T09:30:00+02:00")
    for text in ("2024-04-02T09:30:00.123+02:00", "2024-04-02T09:30:00.1234567+02:00", "2024-04-02T09:30:00.5Z",
                 "2024-04-02T09:30:00.000001z", "2024-04-02T09:30:00.123456789-05:30"):
        assert at_us_of(text) == expected(text), text
    for text in ("2024-04-02T09:30:00.+02:00", "2024-04-02T09:30:00.1234567890+02:00", "2024-04-02T09:30:00.١٢+02:00",
                 "2024-04-02T09:30:00.12+24:00", "2024-04-02T09:30:00.12"):
        assert at_us_of(text) is None and expected(text) is None, text
