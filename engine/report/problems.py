"""Validation problems as text, JSON or GitHub workflow annotations.

Every renderer takes the problems ``engine.validate`` returns (or a
``PolicyError``'s ``problems``) and returns a string without a trailing newline;
an empty list renders as ``""`` in text and GitHub form.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from ..core.errors import Problem


def problems_text(problems: Iterable[Problem]) -> str:
    """One ``file:line:col: path: message`` line per problem."""
    return "\n".join(str(p) for p in problems)


def problems_json(problems: Iterable[Problem], strict: bool = False) -> str:
    """One JSON report: ``valid`` (warnings count against it when ``strict``), counts, every problem."""
    problems = list(problems)
    errors, warnings = _counts(problems)
    return json.dumps({"valid": errors == 0 and not (strict and warnings), "errors": errors,
                       "warnings": warnings, "problems": [p.to_dict() for p in problems]}, indent=2)


def problems_github(problems: Iterable[Problem]) -> str:
    """One ``::error``/``::warning`` workflow command per problem (GitHub shows them on the diff)."""
    return "\n".join(problem_github(p) for p in problems)


def problem_github(problem: Problem) -> str:
    """``::error file=F,line=L,col=C::path: message``; the location goes in the properties, not the text."""
    level = "warning" if problem.severity == "warning" else "error"
    props = []
    if problem.file:
        props.append(f"file={_github_escape(problem.file, True)}")
    if problem.line:
        props.append(f"line={problem.line}")
    if problem.col:
        props.append(f"col={problem.col}")
    message = str(problem.at(file=None))
    if message.startswith("warning: "):
        message = message[len("warning: "):]
    return f"::{level} {','.join(props)}::{_github_escape(message)}"


RENDERERS = {"text": problems_text, "json": problems_json, "github": problems_github}


def render_problems(problems: Iterable[Problem], fmt: str = "text", strict: bool = False) -> str:
    """``problems`` in ``fmt`` (one of ``RENDERERS``); ``strict`` only changes JSON's ``valid``."""
    if fmt == "json":
        return problems_json(problems, strict)
    return RENDERERS[fmt](problems)


def validation_summary(path: str, problems: Iterable[Problem], strict: bool = False) -> str:
    """``policies: invalid (1 error, 0 warnings)``: the verdict line ``triage validate`` ends with."""
    errors, warnings = _counts(problems)
    verdict = "invalid" if errors or (strict and warnings) else "valid"
    return (f"{path}: {verdict} ({errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)})")


def _counts(problems: Iterable[Problem]) -> tuple[int, int]:
    problems = list(problems)
    errors = sum(1 for p in problems if p.is_error)
    return errors, len(problems) - errors


def _github_escape(text: str, prop: bool = False) -> str:
    # workflow-command escaping: '%', CR and LF everywhere; ':' and ',' too inside a property value
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text
