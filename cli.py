"""The ``triage`` command line: a thin click layer over ``engine``.

It parses arguments, calls the library and formats output.  Domain logic
lives in ``engine``; exit codes are mapped in one place (``main``):
0 success, 1 problems found (invalid policy, failed tickets or tests),
2 usage errors.
"""
from __future__ import annotations

import json
import sys

import click

import engine
from engine import PolicyError, TriageError

FORMATS = ("text", "json", "github")


def _policy_dir(value: str | None) -> str:
    return str(value) if value else str(engine.default_policy_dir())


# --------------------------------------------------------------------------- formatters
def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_problem_github(problem: engine.Problem) -> str:
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


def format_problems(problems: list[engine.Problem], fmt: str, strict: bool) -> str:
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    if fmt == "json":
        return json.dumps({"valid": errors == 0 and not (strict and warnings), "errors": errors,
                           "warnings": warnings, "problems": [p.to_dict() for p in problems]}, indent=2)
    if fmt == "github":
        return "\n".join(format_problem_github(p) for p in problems)
    return "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- commands
class TriageGroup(click.Group):
    """The one place that maps library errors to messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            ctx.exit(1)
        except TriageError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except BrokenPipeError:  # `triage evaluate ... | head`
            sys.stderr.close()
            ctx.exit(0)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="triage")
def cli() -> None:
    """Support SLA policy as data: validate policies, evaluate tickets, compute due dates."""


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=True, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: path:line:col: message; json: one report; github: workflow annotations.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def validate(directory: str | None, fmt: str, strict: bool) -> None:
    """Check a policy directory: schema and semantic checks, every problem with file:line:col."""
    path = _policy_dir(directory)
    problems = engine.validate(path)
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    output = format_problems(problems, fmt, strict)
    if output:
        click.echo(output)
    if fmt == "text":
        verdict = "invalid" if errors or (strict and warnings) else "valid"
        click.echo(f"{path}: {verdict} ({errors} error{'s' * (errors != 1)}, "
                   f"{warnings} warning{'s' * (warnings != 1)})", err=True)
    if errors or (strict and warnings):
        sys.exit(1)


@cli.command()
@click.argument("kind")
def schema(kind: str) -> None:
    """Print the JSON Schema of a document KIND (or Ticket, generated from the policy's facts)."""
    click.echo(json.dumps(engine.schema_for(kind, _policy_dir(None)), indent=2))


def main() -> None:
    """Console entry point."""
    cli(prog_name="triage")


if __name__ == "__main__":
    main()
