"""The ``triage`` command line: a thin click layer over ``engine``.

It parses arguments, calls the library and formats output.  Domain logic
lives in ``engine``; exit codes are mapped in one place (``main``):
0 success, 1 problems found (invalid policy, failed tickets or tests),
2 usage errors.
"""
from __future__ import annotations

import gc
import json
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click

import engine
from engine import PolicyError, TicketError, TriageError

FORMATS = ("text", "json", "github")


def _policy_dir(value: str | None, writing: bool = False) -> str:
    """The policy directory given, else ``./policies``, else (only for reading) the shipped set."""
    if value:
        return str(value)
    found = engine.default_policy_dir()
    if writing and found != Path("policies"):
        raise click.UsageError("there is no ./policies directory here to edit; pass the policy directory "
                               "(the set shipped with triage is never edited in place)")
    return str(found)


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


_POLICIES_OPTION = click.option("--policies", "policies_dir", type=click.Path(exists=True),
                                help="Policy directory (default: ./policies, else the shipped set).")


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
@click.option("--policies", "policies_dir", type=click.Path(exists=True),
              help="Policy directory whose facts define the Ticket schema.")
def schema(kind: str, policies_dir: str | None) -> None:
    """Print the JSON Schema of a document KIND (or Ticket, generated from the policy's facts)."""
    if kind == "Ticket":
        document = engine.PolicySet.load(_policy_dir(policies_dir)).ticket_schema()
    else:
        document = engine.document_schema(kind)
    click.echo(json.dumps(document, indent=2))


# --------------------------------------------------------------------------- evaluate / explain
def error_record(item, exc: TicketError | None = None) -> dict:
    """The JSON line for a ticket that could not be evaluated."""
    if exc is None:
        return {"line": item.line, "ticket_id": None, "field": None, "error": item.error}
    problems = [{"field": p.field, "error": str(p.at(path=()))} for p in exc.problems]
    first = problems[0] if problems else {"field": None, "error": str(exc)}
    return {"line": item.line, "ticket_id": exc.ticket_id, "field": first["field"], "error": first["error"],
            "problems": problems}


def _open_input(path: str):
    if path == "-":
        return sys.stdin.buffer, None
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="FILE") from None
    return handle, os.fstat(handle.fileno()).st_size


def _format_for(path: str, fmt: str) -> str:
    if fmt != "auto" or path == "-":
        return fmt
    suffix = os.path.splitext(path)[1].lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, "auto")


class _Progress:
    """A byte-based progress bar on stderr, only on a terminal and only for large inputs."""

    THRESHOLD = 4 * 1024 * 1024

    def __init__(self, total: int | None, label: str = "evaluating"):
        self.bar = None
        if total and total >= self.THRESHOLD and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
            # stderr only: stdout carries the JSON lines
            self.bar = Progress(label, BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True,
                                console=Console(file=sys.stderr, force_terminal=True))
            self.task = self.bar.add_task("evaluate", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def update(self, done: int) -> None:
        if self.bar:
            self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


@cli.command()
@click.argument("file", default="-", required=False)
@_POLICIES_OPTION
@click.option("--input-format", "fmt", type=click.Choice(["auto", "json", "jsonl", "yaml"]), default="auto",
              show_default=True, help="How to read FILE (auto: by extension, else sniffed).")
@click.option("--now", "now", help="Evaluation time (ISO 8601 with offset): adds an SLA status per ticket.")
def evaluate(file: str, policies_dir: str | None, fmt: str, now: str | None) -> None:
    """Evaluate tickets (JSON, JSONL or YAML; - for stdin): one JSON decision per line.

    A bad ticket becomes an error record naming its line and field; the rest go on.
    Counts go to stderr; exit 1 if any ticket failed.
    """
    policies = engine.PolicySet.load(_policy_dir(policies_dir))
    gc.freeze()  # the loaded policy is permanent: keep it out of the collector's scans of a long stream
    at = _parse_instant(now, "--now") if now else None
    stream, size = _open_input(file)
    evaluated = failed = 0
    out = sys.stdout
    with _Progress(size) as progress:
        for item in engine.read_tickets(stream, format=_format_for(file, fmt), progress=progress.update):
            if item.error is not None:
                record = error_record(item)
            else:
                try:
                    decision = policies.evaluate(item.ticket)
                except TicketError as exc:
                    record = error_record(item, exc)
                else:
                    record = decision.to_dict()
                    if at is not None:
                        record["status"] = decision.status_at(at)
                    evaluated += 1
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    continue
            failed += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    click.echo(f"evaluated={evaluated} failed={failed}", err=True)
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("file", default="-", required=False)
@_POLICIES_OPTION
@click.option("--events", help="An event log: tell the SLA clock of ticket FILE (a ticket id) as a timeline.")
@click.option("--now", help="With --events: the instant to tell the clock at (RFC 3339; default: now).")
def explain(file: str, policies_dir: str | None, events: str | None = None, now: str | None = None) -> None:
    """Explain one ticket for a person: matched rules, the deciding rule, calendar, each due date and why.

    With --events EVENTS, FILE is a ticket id and its SLA clock is told event by event.
    """
    if events is not None:
        return _explain_clock(events, file, policies_dir, now)
    policies = engine.PolicySet.load(_policy_dir(policies_dir))
    stream, _ = _open_input(file)
    items = list(engine.read_tickets(stream, format=_format_for(file, "auto")))
    if len(items) != 1:
        raise click.UsageError(f"explain takes exactly one ticket; {file} holds {len(items)}")
    (item,) = items
    if item.error is not None:
        raise TicketError(item.error)
    for line in policies.explain(item.ticket):
        click.echo(line)


# --------------------------------------------------------------------------- clock / queue
def _clock_input(events: str, policies_dir: str | None, now: str | None):
    """(policy set, event items read lazily, now or None for the current time)."""
    at = None
    if now:
        at = _parse_instant(now, "--now")
        if at.tzinfo is None:
            raise click.BadParameter(f"{now!r} has no UTC offset; write e.g. 2024-04-02T11:00:00+02:00",
                                     param_hint="--now")
    policies = engine.PolicySet.load(_policy_dir(policies_dir))
    stream, _ = _open_input(events)
    return policies, engine.read_tickets(stream, format=_format_for(events, "auto")), at


_CLOCK_FORMAT = click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl",
                             show_default=True, help="jsonl: one JSON record per line; text: a table.")


@cli.command("clock")
@click.argument("events", default="-", required=False)
@click.option("--now", help="The instant to read the clocks at (RFC 3339 with offset; default: now).")
@_CLOCK_FORMAT
@_POLICIES_OPTION
def clock_command(events: str, now: str | None, fmt: str, policies_dir: str | None) -> None:
    """The SLA clock of every ticket in an event log (JSONL; - for stdin) at --now.

    A bad event becomes an error record naming its line and field; the rest go on.
    Counts go to stderr; exit 1 if any record is an error.
    """
    from engine.report.clock import write_clock
    policies, items, at = _clock_input(events, policies_dir, now)
    clocked, failed = write_clock(policies.clock(items, now=at), fmt, sys.stdout, sys.stderr)
    click.echo(f"clocked={clocked} failed={failed}", err=True)
    if failed:
        sys.exit(1)


@cli.command("queue")
@click.argument("events", default="-", required=False)
@click.option("--now", help="The instant to order the queue at (RFC 3339 with offset; default: now).")
@_CLOCK_FORMAT
@_POLICIES_OPTION
def queue_command(events: str, now: str | None, fmt: str, policies_dir: str | None) -> None:
    """The tickets of an event log not solved or closed at --now, most urgent first.

    P1 first; within a priority, the earliest due among running metrics; tickets whose running
    metrics are all paused after the others; then created_at and ticket id.
    """
    from engine.report.clock import write_queue
    policies, items, at = _clock_input(events, policies_dir, now)
    queued, done, failed = write_queue(policies.queue(items, now=at), fmt, sys.stdout, sys.stderr)
    click.echo(f"queued={queued} solved={done} failed={failed}", err=True)
    if failed:
        sys.exit(1)


def _explain_clock(events: str, ticket_id: str, policies_dir: str | None, now: str | None) -> None:
    from engine.report.clock import timeline_lines
    policies, items, at = _clock_input(events, policies_dir, now)
    timeline = policies.clock_timeline(items, ticket_id, now=at)
    for line in timeline_lines(timeline):
        click.echo(line)
    if timeline.clock is None:  # the ticket could not be clocked (its 'created' event was refused)
        sys.exit(1)


# --------------------------------------------------------------------------- test
def format_report_text(report) -> list[str]:
    """pytest-like: a line per case, a diff per failure, coverage, a summary."""
    lines = []
    for case in report.cases:
        lines.append(f"{case.file}:{case.line}: {case.suite}::{case.name} {'PASSED' if case.passed else 'FAILED'}")
    failures = [c for c in report.cases if not c.passed]
    if failures:
        lines += ["", "=" * 30 + " FAILURES " + "=" * 30]
        for case in failures:
            lines.append(f"___ {case.suite}::{case.name} ({case.file}:{case.line}) ___")
            if case.error:
                lines.append(f"  error: {case.error}")
            for m in case.mismatches:
                lines += [f"  {m.field}:", f"    - expected: {json.dumps(m.expected)}",
                          f"    + actual:   {json.dumps(m.actual)}"]
    lines += ["", f"rule coverage: {report.coverage:.1f}% "
                  f"({len(report.rules) - len(report.uncovered)}/{len(report.rules)} rules matched by a case)"]
    lines.extend(f"  not covered: {rule}" for rule in report.uncovered)
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return lines


def format_report_json(report) -> str:
    return json.dumps({
        "passed": report.passed, "failed": report.failed, "coverage": round(report.coverage, 2),
        "uncovered_rules": list(report.uncovered),
        "cases": [{"suite": c.suite, "name": c.name, "file": c.file, "line": c.line, "passed": c.passed,
                   "error": c.error, "matched_rules": list(c.matched_rules),
                   "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual}
                                  for m in c.mismatches]} for c in report.cases],
    }, indent=2)


def format_report_junit(report) -> str:
    from xml.sax.saxutils import escape, quoteattr
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="triage" tests="{len(report.cases)}" failures="{report.failed}">']
    for c in report.cases:
        out.append(f"  <testcase classname={quoteattr(c.suite)} name={quoteattr(c.name)} "
                   f"file={quoteattr(c.file)} line=\"{c.line}\">")
        if not c.passed:
            detail = c.error or "; ".join(f"{m.field}: expected {m.expected!r}, got {m.actual!r}"
                                          for m in c.mismatches)
            out.append(f"    <failure message={quoteattr(detail)}>{escape(detail)}</failure>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out)


@cli.command("test")
@click.argument("directory", required=False, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None,
              help="Fail if fewer than PCT percent of the rules are matched by some case.")
def test_command(directory: str | None, fmt: str, min_coverage: float | None) -> None:
    """Run the PolicyTest cases of a policy directory and report rule coverage."""
    report = engine.PolicySet.load(_policy_dir(directory)).run_tests()
    if fmt == "json":
        click.echo(format_report_json(report))
    elif fmt == "junit":
        click.echo(format_report_junit(report))
    else:
        click.echo("\n".join(format_report_text(report)))
    too_low = min_coverage is not None and report.coverage < min_coverage
    if too_low:
        click.echo(f"rule coverage {report.coverage:.1f}% is below --min-coverage {min_coverage:g}%; "
                   f"not covered: {', '.join(report.uncovered)}", err=True)
    if not report.cases:
        click.echo("no PolicyTest cases found", err=True)
    if report.failed or too_low or not report.cases:
        sys.exit(1)


# --------------------------------------------------------------------------- fmt
@cli.command("fmt")
@click.argument("directory", required=False, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Only report files that would change; exit 1 if any would.")
def fmt_command(directory: str | None, check: bool) -> None:
    """Normalise the layout of policy YAML (comments, quotes and flow style are kept)."""
    results = engine.format_policies(_policy_dir(directory, writing=not check), write=not check)
    problems = [r.problem for r in results if r.problem]
    changed = [r.file for r in results if r.changed]
    for problem in problems:
        click.echo(str(problem), err=True)
    for file in changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {file}")
    click.echo(f"{len(changed)} file{'s' * (len(changed) != 1)} {'would be ' if check else ''}reformatted, "
               f"{len(results) - len(changed) - len(problems)} unchanged", err=True)
    if problems or (check and changed):
        sys.exit(1)


# --------------------------------------------------------------------------- impact
def format_impact_markdown(report) -> str:
    """The impact report as Markdown, ready to paste into a pull request."""
    d = report.to_dict()
    def policy(side):
        return f"`{side['revision'] or side['path']}` ({side['digest'][:19]}…)"
    lines = [f"### Policy impact on {d['tickets']:,} tickets", "",
             f"base {policy(d['base'])} → head {policy(d['head'])}", "",
             f"- **{d['changed']:,}** tickets change: **{d['priority_changed']:,}** priority, "
             f"**{d['due_moved']:,}** due dates, **{d['operator_sla_changed']:,}** operator SLA",
             f"- failing under base only: {d['failed_under_base_only']:,}; under head only: "
             f"{d['failed_under_head_only']:,}; under both: {d['failed_under_both']:,}", ""]
    lines += ["#### Priority transitions (rows: base, columns: head)", "",
              "| base \\ head | P1 | P2 | P3 | P4 |", "|---|---|---|---|---|"]
    for base, row in d["priority_matrix"].items():
        cells = [f"**{n}**" if n and base != head else (str(n) if n else "·") for head, n in row.items()]
        lines.append(f"| {base} | " + " | ".join(cells) + " |")
    if d["due_shift"]:
        lines += ["", "#### Due-date shifts (hours, moved tickets only)", "",
                  "| due date | tickets | earlier | later | min | median | max |", "|---|---|---|---|---|---|---|"]
        for name, st in d["due_shift"].items():
            lines.append(f"| {name} | {st['count']:,} | {st['earlier']:,} | {st['later']:,} | "
                         f"{st['min_hours']:+.1f} | {st['median_hours']:+.1f} | {st['max_hours']:+.1f} |")
    if d["operator_sla_changes"]:
        lines += ["", "#### Operator SLA changes", ""]
        lines += [f"- {field}: {n:,} tickets" for field, n in sorted(d["operator_sla_changes"].items())]
    if d["examples"]:
        lines += ["", "#### Largest changes", "", "| ticket | line | priority | response shift | resolution shift | notes |",
                  "|---|---|---|---|---|---|"]
        for ex in d["examples"]:
            shift = ex["shift_hours"]
            def cell(name):
                return f"{shift[name]:+.1f} h" if name in shift else ""
            lines.append(f"| {ex['ticket_id']} | {ex['line']} | {ex['base_priority']} → {ex['head_priority']} | "
                         f"{cell('response_due')} | {cell('resolution_due')} | {'; '.join(ex['notes'])} |")
    return "\n".join(lines)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--base", "base_rev", help="Git revision of the policies to compare against (e.g. main, HEAD~1).")
@click.option("--head", "head", help="Git revision or directory of the new policies (default: the work tree).")
@_POLICIES_OPTION
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--top", type=click.IntRange(0, 1000), default=10, show_default=True, help="How many examples.")
@click.option("--jobs", type=click.IntRange(1, 2), default=lambda: 2 if (os.cpu_count() or 1) > 1 else 1,
              show_default="2 on a multi-core machine", help="Evaluate base and head in parallel processes.")
def impact(paths: tuple[str, ...], base_rev: str | None, head: str | None, policies_dir: str | None, fmt: str,
           top: int, jobs: int) -> None:
    """What a policy change does to a ticket corpus, before it merges.

    \b
    triage impact --base REV [--head REV|DIR] TICKETS
    triage impact BASE_DIR HEAD_DIR TICKETS
    """
    if base_rev:
        if len(paths) != 1:
            raise click.UsageError("with --base, give exactly one argument: the tickets file")
        tickets = paths[0]
        policy_dir = _policy_dir(policies_dir)
        base = engine.PolicySource(policy_dir, base_rev)
        head_source = engine.PolicySource(policy_dir, head) if head and not os.path.isdir(head) else \
            engine.PolicySource(head or policy_dir)
    else:
        if len(paths) != 3 or head:
            raise click.UsageError("give BASE_DIR HEAD_DIR TICKETS, or --base REV TICKETS")
        base, head_source, tickets = engine.PolicySource(paths[0]), engine.PolicySource(paths[1]), paths[2]
    stream, size = _open_input(tickets)
    input_format = _format_for(tickets, "auto")
    gc.freeze()  # what is loaded so far lives to the end: keep it out of the collector's scans
    with _Progress(size, "comparing") as progress:
        if tickets == "-":  # one pass over stdin, both versions here
            items = engine.read_tickets(stream, format=input_format, progress=progress.update)
            report = base.load().compare(head_source.load(), items, top=top)
        else:
            stream.close()
            report = engine.compare_files(base, head_source, tickets, input_format=input_format, top=top,
                                          jobs=jobs, progress=progress.update if progress.bar else None)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_impact_markdown(report))


# --------------------------------------------------------------------------- calendar
def _parse_instant(value: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time like 2024-03-27T16:00:00+01:00",
                                 param_hint=what) from None


def format_timedelta(delta: timedelta) -> str:
    """Hours and minutes, never days (a business day is not 24 h): ``"26h30m (95400 s)"``."""
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else "")
    return f"{sign}{text} ({seconds:g} s)"


def describe_calendar(cal, count: int, since: date) -> list[str]:
    """A readable week plus the next ``count`` holidays from ``since``."""
    lines = [f"{cal.name}  ({cal.timezone}; one business day = {format_timedelta(cal.business_day).split()[0]})"]
    for day, intervals in cal.weekly_hours().items():
        lines.append(f"  {day}  {', '.join(intervals) if intervals else 'closed'}")
    special = [(d, v) for d, v in cal.special_hours().items() if d >= since][:count]
    if special:
        lines.append("special hours:")
        lines.extend(f"  {d.isoformat()}  {', '.join(h) or 'closed'}  {title}" for d, (h, title) in special)
    lines.append("next holidays:")
    upcoming: list[tuple[date, str]] = []
    year = since.year
    while len(upcoming) < count and year <= min(since.year + 5, cal.years[1]):
        upcoming.extend((d, t) for d, t in cal.holidays(year).items() if d >= since)
        year += 1
    lines.extend(f"  {d.isoformat()} {d.strftime('%a')}  {t}" for d, t in upcoming[:count])
    if not upcoming:
        lines.append("  none")
    return lines


def _calendar(policies_dir: str | None, name: str):
    return engine.PolicySet.load(_policy_dir(policies_dir)).calendar(name)


@cli.group()
def calendar() -> None:
    """Business calendars: holidays, business-time arithmetic, opening hours."""


@calendar.command("holidays")
@click.argument("name")
@click.option("--year", type=int, help="Year (default: this year).")
@_POLICIES_OPTION
def calendar_holidays(name: str, year: int | None, policies_dir: str | None) -> None:
    """One line per holiday of calendar NAME: YYYY-MM-DD name."""
    cal = _calendar(policies_dir, name)
    year = year or datetime.now(cal.tz).year
    for day, title in cal.holidays(year).items():
        click.echo(f"{day.isoformat()} {title}")


@calendar.command("add")
@click.argument("name")
@click.argument("start")
@click.argument("duration")
@_POLICIES_OPTION
def calendar_add(name: str, start: str, duration: str, policies_dir: str | None) -> None:
    """Print START + DURATION on calendar NAME as an ISO 8601 instant (e.g. "2 business_hours").

    A negative duration counts backwards; put it after "--":
    triage calendar add partner-support -- 2024-04-02T12:00:00+02:00 "-4 business_hours"
    """
    cal = _calendar(policies_dir, name)
    click.echo(cal.add(_parse_instant(start, "START"), engine.Duration.parse(duration, allow_negative=True))
               .isoformat())


@calendar.command("between")
@click.argument("name")
@click.argument("a")
@click.argument("b")
@_POLICIES_OPTION
def calendar_between(name: str, a: str, b: str, policies_dir: str | None) -> None:
    """Print the business time from A to B on calendar NAME (negative if B is before A)."""
    cal = _calendar(policies_dir, name)
    elapsed = cal.between(_parse_instant(a, "A"), _parse_instant(b, "B"))
    click.echo(format_timedelta(elapsed))


@calendar.command("show")
@click.argument("name")
@click.option("--holidays", "count", type=int, default=8, show_default=True, help="How many upcoming holidays.")
@click.option("--from", "since", help="Show holidays from this date (YYYY-MM-DD; default: today).")
@_POLICIES_OPTION
def calendar_show(name: str, count: int, since: str | None, policies_dir: str | None) -> None:
    """A readable week of calendar NAME plus its next holidays."""
    cal = _calendar(policies_dir, name)
    try:
        start = date.fromisoformat(since) if since else datetime.now(cal.tz).date()
    except ValueError:
        raise click.BadParameter(f"{since!r} is not a date like 2024-12-01", param_hint="--from") from None
    for line in describe_calendar(cal, count, start):
        click.echo(line)


# --------------------------------------------------------------------------- operator SLAs and locations
def _is_tty() -> bool:
    return sys.stdout.isatty()


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; plain columns aligned with two spaces otherwise (pipes, tests)."""
    if _is_tty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
        table = Table(*headers)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: a "[" in a name is not markup
        Console().print(table)
        return
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def sla_dict(book, sla) -> dict:
    def level(lv) -> dict:
        return {"within": str(lv.within), "weekdays_only": lv.weekdays_only}
    return {"id": sla.id, "name": sla.name, "description": sla.description, "default": sla.default,
            "first_level": level(sla.first_level), "second_level": level(sla.second_level),
            "contact": dict(sla.contact) if sla.contact else None, "timezone": sla.timezone,
            "locations": [loc.id for loc in book.locations_of(sla.id)]}


def location_dict(book, loc) -> dict:
    sla, _ = book.sla_for(loc.id)
    return {"id": loc.id, "name": loc.name, "sla": sla.id if sla else None, "bound": loc.sla is not None,
            "flagged": bool(sla and not sla.default), "timezone": loc.timezone or (sla.timezone if sla else None)}


def _contact_text(contact, full: bool = True) -> str:
    if not contact:
        return ""
    details = [contact[k] for k in ("phone", "email") if k in contact and full]
    return ", ".join([f"{contact['role']}: {contact['name']}", *details])


def describe_sla(book, sla) -> list[str]:
    lines = [f"{sla.id}  {sla.name}" + ("  (default)" if sla.default else "")]
    for label, value in (("description", sla.description), ("1st level", str(sla.first_level)),
                         ("2nd level", str(sla.second_level)), ("timezone", sla.timezone),
                         ("contact", _contact_text(sla.contact) or "none")):
        lines.append(f"  {label:<12} {value}")
    locations = book.locations_of(sla.id)
    lines.append(f"locations ({len(locations)}):")
    width = max((len(loc.id) for loc in locations), default=0)
    lines += [f"  {loc.id:<{width}}  {loc.name}" + ("" if loc.sla else "  (no binding: gets the default)")
              for loc in locations]
    return lines


def _apply_edit(edit, dry_run: bool) -> None:
    """Dry run: the diff on stdout.  Otherwise write, then say what changed.  Exit 1 if refused."""
    if not edit.changed:
        click.echo(edit.message)
        return
    if dry_run:
        click.echo(edit.diff(), nl=False)
    if edit.problems:
        click.echo("refused: with this edit the policy set would be invalid (lines are those of the edited "
                   "text, see --dry-run); nothing written", err=True)
        for problem in edit.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    if not dry_run:
        edit.write()
    for line in (*edit.notes, edit.message, *edit.effects):
        click.echo(line, err=dry_run)
    if dry_run:
        click.echo("dry run: nothing written", err=True)


_TEXT_JSON = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print a unified diff of the edit; write nothing.")


@cli.group("sla")
def sla_group() -> None:
    """Operator SLAs: list them, show one, choose the default."""


@sla_group.command("list")
@_POLICIES_OPTION
@_TEXT_JSON
def sla_list(policies_dir: str | None, fmt: str) -> None:
    """List the operator SLAs.

    One row per SLA: default mark, levels, contact, how many locations get it.
    """
    book = engine.PolicyEditor(_policy_dir(policies_dir)).book
    if fmt == "json":
        click.echo(json.dumps([sla_dict(book, s) for s in book.slas.values()], indent=2, ensure_ascii=False))
        return
    _print_table(["ID", "NAME", "DEFAULT", "1ST LEVEL", "2ND LEVEL", "CONTACT", "LOCATIONS"],
                 [[s.id, s.name, "default" if s.default else "", str(s.first_level), str(s.second_level),
                   _contact_text(s.contact, full=False), str(len(book.locations_of(s.id)))]
                  for s in book.slas.values()])


@sla_group.command("show")
@click.argument("sla_id", metavar="ID")
@_POLICIES_OPTION
@_TEXT_JSON
def sla_show(sla_id: str, policies_dir: str | None, fmt: str) -> None:
    """Show one SLA and its locations.

    For the default SLA the locations include those with no binding.
    """
    editor = engine.PolicyEditor(_policy_dir(policies_dir))
    sla = editor.sla(sla_id)
    if fmt == "json":
        click.echo(json.dumps(sla_dict(editor.book, sla), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(describe_sla(editor.book, sla)))


@sla_group.command("set-default")
@click.argument("sla_id", metavar="ID")
@_POLICIES_OPTION
@_DRY_RUN
def sla_set_default(sla_id: str, policies_dir: str | None, dry_run: bool) -> None:
    """Make SLA ID the only default.

    Sets 'default: true' on it and removes the mark from the previous default.
    The whole policy set is validated before anything is written.
    """
    _apply_edit(engine.PolicyEditor(_policy_dir(policies_dir, writing=not dry_run)).set_default(sla_id), dry_run)


@cli.group("locations")
def locations_group() -> None:
    """Charging locations and the operator SLA each is bound to."""


@locations_group.command("list")
@click.option("--flagged", is_flag=True, help="Only locations bound to a non-default SLA.")
@_POLICIES_OPTION
@_TEXT_JSON
def locations_list(flagged: bool, policies_dir: str | None, fmt: str) -> None:
    """List locations with their SLA, flag and time zone.

    A location bound to a non-default SLA is flagged.
    """
    book = engine.PolicyEditor(_policy_dir(policies_dir)).book
    records = [location_dict(book, loc) for loc in book.locations.values()]
    records = [r for r in records if r["flagged"] or not flagged]
    if fmt == "json":
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    mark = "⚑" if _is_tty() else "flagged"
    _print_table(["ID", "NAME", "SLA", "FLAG", "TIMEZONE"],
                 [[r["id"], r["name"], r["sla"] or "", mark if r["flagged"] else "", r["timezone"] or ""]
                  for r in records])


@locations_group.command("bind")
@click.argument("location_id", metavar="LOCATION")
@click.argument("sla_id", metavar="SLA")
@click.option("--create", is_flag=True, help="Add LOCATION (with --name) to the last Locations document.")
@click.option("--name", help="Name of the location --create adds.")
@_POLICIES_OPTION
@_DRY_RUN
def locations_bind(location_id: str, sla_id: str, create: bool, name: str | None, policies_dir: str | None,
                   dry_run: bool) -> None:
    """Bind LOCATION to SLA.

    Sets the location's own 'sla' and removes it from any SLA's 'locations' list.
    The whole policy set is validated before anything is written.
    """
    if create != (name is not None):
        raise click.UsageError("--create and --name go together: --create --name NAME")
    _apply_edit(engine.PolicyEditor(_policy_dir(policies_dir, writing=not dry_run)).bind(location_id, sla_id, name),
                dry_run)


def main() -> None:
    """Console entry point."""
    cli(prog_name="triage")


if __name__ == "__main__":
    main()
