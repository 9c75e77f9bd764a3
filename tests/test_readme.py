"""The README's examples run as written."""
import re

from conftest import ROOT


def _python_block(section: str) -> str:
    """The first ```python block under the README heading ``## <section>`` (before the next ``## ``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert body, f"README.md has no '## {section}' section"
    block = re.search(r"^```python\n(.*?)^```", body.group(1), re.M | re.S)
    assert block, f"the '## {section}' section of README.md has no ```python block"
    return block.group(1)


def test_library_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the example loads "policies" from the working directory
    code = _python_block("Library")
    namespace = {"__name__": "readme_library_example"}
    exec(compile(code, "README.md (## Library)", "exec"), namespace)
    # what its comments promise
    assert namespace["decision"].priority == "P2"
    assert len(namespace["decisions"]) == sum(1 for line in open(ROOT / "examples" / "tickets.jsonl") if line.strip())
    assert capsys.readouterr().out == "ticket T-2: created_at: missing required field 'created_at'\n"
