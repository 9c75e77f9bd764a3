"""The ``triage`` command line: a thin click layer over ``engine``.

It parses arguments, calls the library and hands the results to the renderers
in ``engine.report``.  Exit codes are mapped in one place, ``TriageGroup.invoke``:
a command returns an ``ExitCode`` (returning nothing means OK) and a library
error maps by its class; ``ExitCode`` says what each code means.
"""
from __future__ import annotations

import enum
import gc
import itertools
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path

import click

import engine
from engine import PolicyError, TicketError, TriageError
from engine.report import calendar as calendar_report, operator as operator_report, timeline_svg
from engine.report.fmt import fmt_changes, fmt_summary
from engine.report.clock import timeline_lines, write_clock, write_queue
from engine.report.impact import impact_markdown
from engine.report.policytest import RENDERERS as POLICYTEST_RENDERERS
from engine.report.progress import ProgressBar
from engine.report.problems import RENDERERS as PROBLEM_RENDERERS, problems_text, render_problems, validation_summary
from engine.report.tables import print_table
from engine.report.tickets import Tally, printable, write_records


class ExitCode(enum.IntEnum):
    """How a command's run ended; ``TriageGroup.invoke`` makes it the process exit code."""

    OK = 0          # all good
    FINDINGS = 1    # bad tickets, validation problems, failed policy tests, files fmt --check would change,
                    # a refused edit; and any other TriageError (unknown name, bad duration, failed write)
    CANNOT_RUN = 2  # the command could not run: usage (click's UsageError, exit code 2), unreadable
                    # input, or the policy set it needs does not load (PolicyError)

    @classmethod
    def findings_if(cls, found: object) -> "ExitCode":
        return cls.FINDINGS if found else cls.OK


def _policy_dir(value: str | None, writing: bool = False) -> str:
    """The policy directory given, else ``./policies``, else (only for reading) the shipped set."""
    if value:
        return str(value)
    found = engine.default_policy_dir()
    if writing and found != Path("policies"):
        raise click.UsageError("there is no ./policies directory here to edit; pass the policy directory "
                               "(the set shipped with triage is never edited in place)")
    return str(found)


def _directory(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A policy directory option: an existing file is not one (it used to fail with a YAML error)."""
    if value is not None and not os.path.isdir(value):
        raise click.BadParameter(f"{value!r} is not a directory; give the policy directory", ctx, param)
    return value


_POLICIES_OPTION = click.option("--policies", "policies_dir", type=click.Path(exists=True), callback=_directory,
                                help="Policy directory (default: ./policies, else the shipped set).")


# --------------------------------------------------------------------------- commands
class TriageGroup(click.Group):
    """The one place that maps command results and library errors to exit codes.

    Click itself exits 2 for a ``UsageError`` (bad options, ``BadParameter`` for
    unreadable input), which is ``ExitCode.CANNOT_RUN``.
    """

    def invoke(self, ctx: click.Context):
        try:
            code = super().invoke(ctx)
        except PolicyError as exc:  # the policy set the command needs does not load
            if exc.problems:
                click.echo(problems_text(exc.problems), err=True)
            code = ExitCode.CANNOT_RUN
        except TriageError as exc:  # its message may quote a ticket's text that UTF-8 cannot hold
            click.echo(f"error: {printable(str(exc))}", err=True)
            code = ExitCode.FINDINGS
        except BrokenPipeError:  # `triage evaluate ... | head`
            sys.stderr.close()
            code = ExitCode.OK
        ctx.exit(ExitCode(code or ExitCode.OK).value)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="triage")
def cli() -> None:
    """Support SLA policy as data: validate policies, evaluate tickets, compute due dates."""


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=True, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(list(PROBLEM_RENDERERS)), default="text", show_default=True,
              help="text: path:line:col: message; json: one report; github: workflow annotations.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def validate(directory: str | None, fmt: str, strict: bool) -> ExitCode:
    """Check a policy directory: schema and semantic checks, every problem with file:line:col."""
    path = _policy_dir(directory)
    if not os.path.exists(path):  # nothing to validate: the command cannot run (as for test)
        raise click.BadParameter(f"policy directory {path} does not exist", param_hint="DIRECTORY")
    problems = engine.validate(path)
    output = render_problems(problems, fmt, strict)
    if output:
        click.echo(output)
    if fmt == "text":
        click.echo(validation_summary(path, problems, strict), err=True)
    return ExitCode.findings_if(any(p.is_error for p in problems) or (strict and problems))


@cli.command()
@click.argument("kind")
@click.option("--policies", "policies_dir", type=click.Path(exists=True), callback=_directory,
              help="Policy directory whose facts define the Ticket schema.")
def schema(kind: str, policies_dir: str | None) -> None:
    """Print the JSON Schema of a document KIND (or Ticket, generated from the policy's facts)."""
    if kind == "Ticket":
        document = engine.PolicySet.load(_policy_dir(policies_dir)).ticket_schema()
    else:
        document = engine.document_schema(kind)
    click.echo(json.dumps(document, indent=2))


# --------------------------------------------------------------------------- evaluate / explain
def _open_input(path: str):
    if path == "-":
        return sys.stdin.buffer, None
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="FILE") from None
    return handle, os.fstat(handle.fileno()).st_size


def _format_for(path: str, fmt: str | None) -> str:
    """The input format: as given, else by the file's extension; JSONL for stdin and other names."""
    return fmt or engine.input_format_for(None if path == "-" else path)


_INPUT_FORMAT = click.option(
    "--input-format", "fmt", type=click.Choice(engine.INPUT_FORMATS), default=None,
    help="How to read FILE: jsonl (one ticket per line), json (a ticket, or an array of them, streamed) or yaml. "
         "Default: by FILE's extension (.jsonl/.ndjson, .json, .yaml/.yml); JSONL for stdin and any other name.")


def _parse_now(value: str, policies) -> datetime:
    """``--now``: an ISO 8601 instant with offset, a day inside the years every calendar supports."""
    at = _parse_instant(value, "--now", aware=True)
    if not policies.supports(at):
        first, last = policies.supported_years
        raise click.BadParameter(f"{value!r} is outside the years the calendars support ({first}-{last})",
                                 param_hint="--now")
    return at


@cli.command()
@click.argument("file", default="-", required=False)
@_POLICIES_OPTION
@_INPUT_FORMAT
@click.option("--now", "now", help="Evaluation time (ISO 8601 with offset): adds an SLA status per ticket.")
def evaluate(file: str, policies_dir: str | None, fmt: str | None, now: str | None) -> ExitCode:
    """Evaluate tickets (JSONL, JSON or YAML; - for stdin): one JSON decision per line.

    Every ticket gets one record: its decision, or an error record naming its line (and index in an
    array) and field; the rest go on.  Counts go to stderr; exit 1 if any ticket failed, 2 if the
    command could not run (usage, unreadable input, a policy set that does not load).
    """
    if now is not None:  # checked before anything is read: --now '' is a mistake too
        _parse_instant(now, "--now", aware=True)
    gc.disable()  # loading allocates much and frees little: the collector would only slow it down
    try:
        policies = engine.PolicySet.load(_policy_dir(policies_dir))
    finally:
        gc.enable()
    at = _parse_now(now, policies) if now is not None else None
    gc.freeze()  # the loaded policy is permanent: keep it out of the collector's scans of a long stream
    stream, size = _open_input(file)
    input_format = _format_for(file, fmt)
    tally, threshold = Tally(), gc.get_threshold()
    gc.set_threshold(10_000)  # young collections less often: a batch in flight holds a few thousand objects
    try:
        with ProgressBar(size) as progress:
            batches = engine.read_ticket_batches(stream, format=input_format,
                                                 progress=progress.update if progress.bar else None)
            write_records(policies.evaluate, batches, sys.stdout.buffer.write, tally, at)
    finally:  # the counts always match the records written
        gc.set_threshold(*threshold)
        sys.stdout.buffer.flush()
        click.echo(f"evaluated={tally.evaluated} failed={tally.failed}", err=True)
    if tally.unreadable_first and fmt is None and input_format == "jsonl":
        click.echo(f"note: {'stdin' if file == '-' else file} was read as JSONL (one ticket per line); "
                   f"for a JSON or YAML document, pass --input-format json or yaml", err=True)
    return ExitCode.findings_if(tally.failed)


@cli.command()
@click.argument("file", default="-", required=False)
@_POLICIES_OPTION
@_INPUT_FORMAT
@click.option("--events", help="An event log: tell the SLA clock of ticket FILE (a ticket id) as a timeline.")
@click.option("--now", help="With --events: the instant to tell the clock at (RFC 3339; default: now).")
@click.option("--format", "out", type=click.Choice(["text", "svg"]), default="text", help="text, or an SVG timeline.")
def explain(file: str, policies_dir: str | None, fmt: str | None, events: str | None = None,
            now: str | None = None, out: str = "text") -> ExitCode | None:
    """Explain one ticket for a person: matched rules, the deciding rule, calendar, each due date and why.

    With --events EVENTS, FILE is a ticket id and its SLA clock is told event by event.
    """
    if events is not None:
        policies, items, at = _clock_input(events, policies_dir, now)
        timeline = policies.clock_timeline(items, file, now=at)
        click.echo(timeline_svg(timeline) if out == "svg" else "\n".join(timeline_lines(timeline)))
        return ExitCode.findings_if(timeline.clock is None)  # its 'created' event was refused
    policies = engine.PolicySet.load(_policy_dir(policies_dir))
    stream, _ = _open_input(file)
    items = list(itertools.islice(engine.read_tickets(stream, format=_format_for(file, fmt)), 2))
    if len(items) != 1:
        raise click.UsageError(f"explain takes exactly one ticket; {file} holds "
                               f"{'none' if not items else 'more than one'}")
    (item,) = items
    if item.error is not None:
        raise TicketError(f"line {item.line}: {item.error}")
    click.echo(policies.explain_svg(item.ticket) if out == "svg" else "\n".join(policies.explain(item.ticket)))


# --------------------------------------------------------------------------- clock / queue
def _clock_input(events: str, policies_dir: str | None, now: str | None):
    """(policy set, event items read lazily, --now or None for the current time)."""
    at = _parse_instant(now, "--now", aware=True) if now else None
    policies = engine.PolicySet.load(_policy_dir(policies_dir))
    stream, _ = _open_input(events)
    return policies, engine.read_tickets(stream, format=_format_for(events, None)), at


_CLOCK_FORMAT = click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl",
                             show_default=True, help="jsonl: one JSON record per line; text: a table.")


@cli.command("clock")
@click.argument("events", default="-", required=False)
@click.option("--now", help="The instant to read the clocks at (RFC 3339 with offset; default: now).")
@_CLOCK_FORMAT
@_POLICIES_OPTION
def clock_command(events: str, now: str | None, fmt: str, policies_dir: str | None) -> ExitCode:
    """The SLA clock of every ticket in an event log (JSONL; - for stdin) at --now.

    A bad event becomes an error record naming its line and field; the rest go on.
    Counts go to stderr; exit 1 if any record is an error.
    """
    policies, items, at = _clock_input(events, policies_dir, now)
    clocked, failed = write_clock(policies.clock(items, now=at), fmt, sys.stdout, sys.stderr)
    click.echo(f"clocked={clocked} failed={failed}", err=True)
    return ExitCode.findings_if(failed)


@cli.command("queue")
@click.argument("events", default="-", required=False)
@click.option("--now", help="The instant to order the queue at (RFC 3339 with offset; default: now).")
@_CLOCK_FORMAT
@_POLICIES_OPTION
def queue_command(events: str, now: str | None, fmt: str, policies_dir: str | None) -> ExitCode:
    """The tickets of an event log not solved or closed at --now, most urgent first.

    P1 first; within a priority, the earliest due among running metrics; tickets whose running
    metrics are all paused after the others; then created_at and ticket id.
    """
    policies, items, at = _clock_input(events, policies_dir, now)
    queued, done, failed = write_queue(policies.queue(items, now=at), fmt, sys.stdout, sys.stderr)
    click.echo(f"queued={queued} solved={done} failed={failed}", err=True)
    return ExitCode.findings_if(failed)


# --------------------------------------------------------------------------- serve
@cli.command()
@_POLICIES_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free port.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="File holding the bearer token for /v1/*.")
@click.option("--decision-log", type=click.Path(dir_okay=False), help="Append one JSON line per decision.")
@click.option("--log-facts", is_flag=True, help="Put each ticket's facts in the decision log too.")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback --host without --token-file.")
@click.option("--max-body", type=click.IntRange(1), default=10 * 2**20, show_default=True, help="Bytes; more: 413.")
@click.option("--reload-interval", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds between two looks at the policy directory.")
def serve(policies_dir: str | None, **options) -> ExitCode:
    """Serve decisions over HTTP (POST /v1/evaluate, ...); reloads the policy directory when it changes."""
    from engine.service import ServeUsageError, ServiceConfig, run
    try:
        return ExitCode(run(ServiceConfig(policies=_policy_dir(policies_dir), **options)))
    except ServeUsageError as exc:
        raise click.UsageError(str(exc)) from None


# --------------------------------------------------------------------------- test
@cli.command("test")
@click.argument("directory", required=False, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(list(POLICYTEST_RENDERERS)), default="text", show_default=True)
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None,
              help="Fail if fewer than PCT percent of the rules are matched by some case.")
def test_command(directory: str | None, fmt: str, min_coverage: float | None) -> ExitCode:
    """Run the PolicyTest cases of a policy directory and report rule coverage."""
    report = engine.PolicySet.load(_policy_dir(directory)).run_tests()
    click.echo(POLICYTEST_RENDERERS[fmt](report))
    too_low = min_coverage is not None and report.coverage < min_coverage
    if too_low:
        click.echo(f"rule coverage {report.coverage:.1f}% is below --min-coverage {min_coverage:g}%; "
                   f"not covered: {', '.join(report.uncovered)}", err=True)
    if not report.cases:
        click.echo("no PolicyTest cases found", err=True)
    return ExitCode.findings_if(report.failed or too_low or not report.cases)


# --------------------------------------------------------------------------- fmt
@cli.command("fmt")
@click.argument("directory", required=False, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Only report files that would change; exit 1 if any would.")
def fmt_command(directory: str | None, check: bool) -> ExitCode:
    """Normalise the layout of policy YAML (comments, quotes and flow style are kept)."""
    results = engine.format_policies(_policy_dir(directory, writing=not check), write=not check)
    problems = [r.problem for r in results if r.problem]
    if problems:
        click.echo(problems_text(problems), err=True)
    changes = fmt_changes(results, check)
    for line in changes:
        click.echo(line)
    click.echo(fmt_summary(results, check), err=True)
    return ExitCode.findings_if(problems or (check and changes))


# --------------------------------------------------------------------------- impact
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
    input_format = _format_for(tickets, None)
    gc.freeze()  # what is loaded so far lives to the end: keep it out of the collector's scans
    with ProgressBar(size, "comparing") as progress:
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
        click.echo(impact_markdown(report))


# --------------------------------------------------------------------------- calendar
def _parse_instant(value: str, what: str, aware: bool = False) -> datetime:
    """``value`` as a datetime; with ``aware``, one without a UTC offset is a usage error too."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time like 2024-03-27T16:00:00+01:00",
                                 param_hint=what) from None
    if aware and instant.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset; give one, like 2024-03-27T16:00:00+01:00",
                                 param_hint=what)
    return instant


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
    for line in calendar_report.holiday_lines(cal, year):
        click.echo(line)


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
    click.echo(calendar_report.format_timedelta(elapsed))


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
    for line in calendar_report.describe_calendar(cal, count, start):
        click.echo(line)


# --------------------------------------------------------------------------- operator SLAs and locations
def _apply_edit(edit, dry_run: bool) -> ExitCode:
    """Dry run: the diff on stdout.  Otherwise write, then say what changed.  Findings if refused."""
    if not edit.changed:
        click.echo(edit.message)
        return ExitCode.OK
    if dry_run:
        click.echo(edit.diff(), nl=False)
    if edit.problems:
        click.echo("refused: with this edit the policy set would be invalid (lines are those of the edited "
                   "text, see --dry-run); nothing written", err=True)
        click.echo(problems_text(edit.problems), err=True)
        return ExitCode.FINDINGS
    if not dry_run:
        edit.write()
    for line in (*edit.notes, edit.message, *edit.effects):
        click.echo(line, err=dry_run)
    if dry_run:
        click.echo("dry run: nothing written", err=True)
    return ExitCode.OK


def _is_tty() -> bool:
    return sys.stdout.isatty()


_TEXT_JSON = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print a unified diff of the edit; write nothing.")


@cli.group("sla")
def sla_group() -> None:
    """Operator SLAs: list them, show one, choose the default."""


@sla_group.command("list")
@_POLICIES_OPTION
@_TEXT_JSON
def sla_list(policies_dir: str | None, fmt: str) -> None:
    """List the operator SLAs: default mark, levels, contact, how many locations get each."""
    book = engine.PolicyEditor(_policy_dir(policies_dir)).book
    if fmt == "json":
        records = [operator_report.sla_dict(book, s) for s in book.slas.values()]
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    print_table(operator_report.SLA_HEADERS, operator_report.sla_rows(book), _is_tty())


@sla_group.command("show")
@click.argument("sla_id", metavar="ID")
@_POLICIES_OPTION
@_TEXT_JSON
def sla_show(sla_id: str, policies_dir: str | None, fmt: str) -> None:
    """Show one SLA and its locations (for the default SLA, also those with no binding)."""
    editor = engine.PolicyEditor(_policy_dir(policies_dir))
    sla = editor.sla(sla_id)
    if fmt == "json":
        click.echo(json.dumps(operator_report.sla_dict(editor.book, sla), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(operator_report.describe_sla(editor.book, sla)))


@sla_group.command("set-default")
@click.argument("sla_id", metavar="ID")
@_POLICIES_OPTION
@_DRY_RUN
def sla_set_default(sla_id: str, policies_dir: str | None, dry_run: bool) -> ExitCode:
    """Make SLA ID the only default.

    Sets 'default: true' on it and removes the mark from the previous default.
    The whole policy set is validated before anything is written.
    """
    editor = engine.PolicyEditor(_policy_dir(policies_dir, writing=not dry_run))
    return _apply_edit(editor.set_default(sla_id), dry_run)


@cli.group("locations")
def locations_group() -> None:
    """Charging locations and the operator SLA each is bound to."""


@locations_group.command("list")
@click.option("--flagged", is_flag=True, help="Only locations bound to a non-default SLA.")
@_POLICIES_OPTION
@_TEXT_JSON
def locations_list(flagged: bool, policies_dir: str | None, fmt: str) -> None:
    """List locations with their SLA, time zone, and a flag when the SLA is not the default."""
    book = engine.PolicyEditor(_policy_dir(policies_dir)).book
    records = [operator_report.location_dict(book, loc) for loc in book.locations.values()]
    records = [r for r in records if r["flagged"] or not flagged]
    if fmt == "json":
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    tty = _is_tty()
    print_table(operator_report.LOCATION_HEADERS, operator_report.location_rows(records, "⚑" if tty else "flagged"), tty)


@locations_group.command("bind")
@click.argument("location_id", metavar="LOCATION")
@click.argument("sla_id", metavar="SLA")
@click.option("--create", is_flag=True, help="Add LOCATION (with --name) to the last Locations document.")
@click.option("--name", help="Name of the location --create adds.")
@_POLICIES_OPTION
@_DRY_RUN
def locations_bind(location_id: str, sla_id: str, create: bool, name: str | None, policies_dir: str | None,
                   dry_run: bool) -> ExitCode:
    """Bind LOCATION to SLA.

    Sets the location's own 'sla' and removes it from any SLA's 'locations' list.
    The whole policy set is validated before anything is written.
    """
    if create != (name is not None):
        raise click.UsageError("--create and --name go together: --create --name NAME")
    editor = engine.PolicyEditor(_policy_dir(policies_dir, writing=not dry_run))
    return _apply_edit(editor.bind(location_id, sla_id, name), dry_run)


def main() -> None:
    """Console entry point."""
    cli(prog_name="triage")


if __name__ == "__main__":
    main()
