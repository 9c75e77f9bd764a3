"""engine.core.memo: the one bounded-memo helper, and its list of memos kept honest."""
import ast
from pathlib import Path

import engine.core.memo as memo
from engine.core.memo import remember

ENGINE = Path(memo.__file__).resolve().parent.parent


def test_remember_empties_a_full_memo_first():
    cache: dict = {}
    assert remember(cache, "a", 1, 2) == 1
    remember(cache, "b", 2, 2)
    assert cache == {"a": 1, "b": 2}
    remember(cache, "c", 3, 2)
    assert cache == {"c": 3}
    remember(cache, "d", 4, 0)  # a zero bound still keeps the newest entry
    assert cache == {"d": 4}


def test_every_memo_is_listed_in_the_docstring():
    """Each ``remember(<memo>, ...)`` call names a memo that the module docstring lists."""
    calls = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "remember" and node.args:
                target = node.args[0]
                if isinstance(target, ast.Subscript):  # one memo of several: self._ruleset_memos[k]
                    target = target.value
                name = target.attr if isinstance(target, ast.Attribute) else target.id
                calls.append((path.name, name))
    assert len(calls) >= 8
    listed = memo.__doc__
    missing = [(file, name) for file, name in calls if name not in listed and name != "outcomes"]
    assert missing == []
    assert "outcomes" in listed
