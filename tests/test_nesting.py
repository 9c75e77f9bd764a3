"""Counting JSON nesting ahead of the streaming parser (engine/facts/nesting.py), against a
character-by-character reading of the same text."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.facts.nesting import Nesting


def _first_too_deep(text: bytes, limit: int) -> int | None:
    """The offset of the bracket that opens level limit + 1, read one character at a time."""
    depth, in_string, escaped = 0, False, False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == 0x5C:
                escaped = True
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > limit:
                return offset
        elif char in b"]}":
            depth -= 1
    return None


_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\ab\n\té\ud800'), max_size=12)
_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                       max_leaves=40)


def _cuts(text: bytes, positions: list[int]) -> list[bytes]:
    """``text`` in pieces, never cut inside an escape (as the reader never cuts one)."""
    pieces, start = [], 0
    for position in sorted(set(positions)):
        if start < position < len(text) and text[position - 1] != 0x5C and text[start:position].count(b"\\") % 2 == 0:
            pieces.append(text[start:position])
            start = position
    return pieces + [text[start:]]


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, limit=st.integers(1, 6), indent=st.sampled_from([None, 1]),
       positions=st.lists(st.integers(0, 2000), max_size=8))
def test_the_count_finds_the_first_bracket_too_deep_wherever_the_pieces_are_cut(value, limit, indent, positions):
    text = json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8", "surrogatepass")
    expected = _first_too_deep(text, limit)
    pieces = [line for piece in _cuts(text, positions) for line in piece.splitlines(keepends=True)]
    nesting, consumed, found = Nesting(limit), 0, None
    for piece in pieces:
        cut = nesting.feed(piece)
        if cut is not None:
            found = consumed + cut
            break
        consumed += len(piece)
    assert found == expected
    if expected is None:
        assert (nesting.depth, nesting.in_string) == (0, False)
