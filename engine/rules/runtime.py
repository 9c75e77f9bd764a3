"""A safe runtime around durable-rules: :class:`RuleEvaluator`.

Conventions (each one neutralises a measured hazard; see
``notes/durable-rules-constructs.md``):

* Every evaluator owns one private durable ``Host``; a policy reload builds a
  new evaluator, so a ruleset name is never registered twice on a Host.
* The Host subclass never starts durable's two background ``threading.Timer``
  loops (``Host._run`` is overridden): every action runs synchronously inside
  the caller's ``assert_fact``, on the caller's thread.  An action that runs at
  any other time is counted in :attr:`RuleEvaluator.stray_actions` and ignored.
* Facts are asserted under one fixed ``sid`` and **retracted** afterwards
  (each with a fresh ``id``).  ``delete_state`` is never called: in 2.0.28 it
  frees two pointers that ``createStateNode`` never initialises, which crashes
  the process whenever the state ran no action (``state.c``).
* All Host access is serialised by a lock; the evaluator is safe to share
  across threads.
* Matched rules (and the review) are memoised exactly per ruleset, by the
  projection of the ticket *signature* (see
  :class:`engine.rules.compiler.CompiledRules`) onto the inputs that ruleset
  reads: rule alternatives are grouped by the facts they read, so these keys
  have small domains and hit even when whole signatures rarely repeat.  The
  rulesets' answers are then joined through one more memo (see
  :mod:`engine.rules.memos`).  Only a ruleset's miss reaches durable-rules.
  ``memo_size=0`` turns memoisation off.
* A durable exception never escapes as-is: it becomes a ``TriageError`` and the
  Host is rebuilt before the next evaluation.
* Native memory is released when the evaluator is closed (:meth:`RuleEvaluator.close`)
  or dropped (a ``weakref.finalize``; nothing the native side holds refers back to
  the evaluator, so dropping the last reference is enough, without waiting for the
  cycle collector).  durable's ``deleteRuleset`` frees the ruleset but not the pools
  of the state its facts were asserted under (about 850 KiB per ruleset), and
  ``delete_state`` frees them but crashes on a state that never completed an
  action (it frees two pointers nobody initialised).  So every ruleset carries one
  extra *closing* rule, on a field no ticket fact has: releasing asserts the closing
  fact, whose action completes (durable then sets those pointers to NULL), then
  deletes the state, then the ruleset.
"""
from __future__ import annotations

import itertools
import operator
import json
import threading
import weakref
from collections.abc import Mapping

import durable_rules_engine
from durable import engine as durable_engine

from .compiler import CompiledRules, signature_code
from .fastpath import fused_code
from .memos import Memos, generate_lookup
from .review import Review, combine, review_function, review_parts
from ..core.errors import TriageError
from ..facts.vocabulary import Fact, NormalisedTicket

DEFAULT_MEMO_SIZE = 65536
_SID = "0"


_CLOSING = "closing"  # the closing rule's name, action and field (compiled fields are v/h/s/m<n>)
_CLOSING_RULE = {"all": [{"m": {_CLOSING: 1}}], "run": _CLOSING}
_CLOSED = -1  # what the closing action records


class _Collector:
    """Where the actions record the rule positions that fire during one call.  Shared by an
    evaluator's core and its Host; refers to neither."""

    __slots__ = ("fired", "owner", "stray")

    def __init__(self) -> None:
        self.fired: set[int] | None = None
        self.owner: int | None = None
        self.stray = 0  # actions run outside an evaluation (must stay 0)

    def record(self, position: int) -> None:
        fired = self.fired
        if fired is None or threading.get_ident() != self.owner:
            self.stray += 1
            return
        fired.add(position)


class _Host(durable_engine.Host):
    """A durable Host with no timer threads whose actions record rule positions."""

    def __init__(self, collector: _Collector):
        self._collector = collector
        super().__init__()

    def _run(self):
        # durable's Host._run starts two self-rescheduling Timer threads that call
        # ruleset.dispatch() every ~0.2 s and can run an action outside the
        # caller's assert_fact.  Nothing here needs them: our actions are
        # synchronous and we use no durable timers.
        pass

    def get_action(self, action_name):
        position = _CLOSED if action_name == _CLOSING else int(action_name)
        record = self._collector.record

        def action(c):  # exactly one parameter: durable treats two as an async action
            record(position)

        return action


def _projection(key: tuple[int, ...], classes: tuple = ()):
    """``signature -> the part of it a ruleset reads`` (hashable), each code mapped to its class
    where ``classes`` (aligned with ``key``) has a mapping for it."""
    if any(to_class is not None for to_class in classes):
        maps = tuple(zip(key, classes))
        return lambda signature: tuple(signature[i] if m is None else m[signature[i]] for i, m in maps)
    if not key:
        return lambda signature: ()
    getter = operator.itemgetter(*key)
    if len(key) == 1:
        return lambda signature: (getter(signature),)
    return getter


def _mask(positions) -> int:
    """The bit mask of a set of rule positions."""
    mask = 0
    for p in positions:
        mask |= 1 << p
    return mask


class _Core:
    """Everything an evaluation touches: the Host and its native rulesets, the lock, the memos.

    It never refers to its :class:`RuleEvaluator`, so the evaluator is freed as soon as it is
    dropped, and its finalizer (:meth:`release`) frees the native side."""

    def __init__(self, compiled: CompiledRules, memo_size: int, signature, fused=None):
        self.compiled = compiled
        self.fused_code = fused  # engine.rules.fastpath.fused_code's, or None
        self.ids = tuple(rule.id for rule in compiled.rules)
        self.lock = threading.Lock()
        self.collector = _Collector()
        self.fact_ids = itertools.count()
        self.host: _Host | None = None
        self.rulesets: tuple = ()
        self.handles: list[int] = []
        self.touched: set[int] = set()  # rulesets that hold a state (a fact was asserted into them)
        self.closed = False
        self.durable_calls = 0
        self.memo_size = memo_size
        self.projections = tuple(_projection(spec.key, spec.classes) for spec in compiled.rulesets)
        self.parts = review_parts(compiled)
        self.review = review_function(self.parts)
        self.number_lock = threading.Lock()  # numbering answers and starting generations of memos
        self.memos: Memos | None = None
        if memo_size > 0:
            self.renew()
        else:
            self.lookup = lambda ticket: self.evaluate_and_review_uncached(signature(ticket))
            self.fused = _no_fast_path
        with self.lock:
            self.build_host()

    def renew(self) -> None:
        """Start a new generation of memos, with its lookup functions (see :mod:`engine.rules.memos`).
        The closures refer to this core and the memos, never to the evaluator."""
        memos = Memos(len(self.compiled.rulesets), self.memo_size)
        keys = tuple(spec.key for spec in self.compiled.rulesets)
        classes = tuple(spec.classes for spec in self.compiled.rulesets)
        args = (memos, keys, lambda signature: self.evaluate_grouped(signature, memos),
                lambda numbers: memos.join(numbers, self.ids, combine))
        self.memos = memos
        self.by_signature = generate_lookup(*args, classes=classes)
        self.lookup = generate_lookup(*args, signature=signature_code(self.compiled), classes=classes)
        self.fused = _no_fast_path if self.fused_code is None else \
            generate_lookup(*args, signature=self.fused_code, classes=classes, result="out, {}")

    # ----------------------------------------------------------------- the Host

    def build_host(self) -> None:
        """Create a fresh Host with every ruleset (plus its closing rule).  Caller holds the lock."""
        self.drop_host(trust_states=False)
        host = _Host(self.collector)
        names = tuple(f"triage{k}" for k in range(len(self.compiled.rulesets)))
        try:
            host.set_rulesets({name: {**json.loads(spec.definition), _CLOSING: dict(_CLOSING_RULE)}
                               for name, spec in zip(names, self.compiled.rulesets)})
        except Exception as exc:
            raise TriageError(f"the rules engine rejected a compiled ruleset: {exc}") from None
        finally:
            self.handles.extend(rs._handle for rs in host._ruleset_list)
        self.rulesets = tuple((name, host.get_ruleset(name), spec.fields)
                              for name, spec in zip(names, self.compiled.rulesets))
        self.host = host

    def drop_host(self, trust_states: bool) -> None:
        """Free the Host's native rulesets.  ``trust_states``: every state is between two
        evaluations (not after a durable error), so it can be deleted safely.  Caller holds the lock."""
        host, self.host = self.host, None
        if trust_states and host is not None:
            for k in sorted(self.touched):
                self.delete_state(host, *self.rulesets[k][:2])
        self.touched.clear()
        for handle in self.handles:
            try:
                durable_rules_engine.delete_ruleset(handle)
            except Exception:  # pragma: no cover - best effort at teardown
                pass
        self.handles.clear()
        self.rulesets = ()
        if host is not None:  # durable's Host and Rulesets refer to each other; no need to wait for gc
            host._ruleset_list.clear()
            host._ruleset_directory.clear()

    def delete_state(self, host: _Host, name: str, ruleset) -> None:
        """Complete one action in the ruleset's state (the closing rule), then delete the state."""
        collector = self.collector
        collector.fired, collector.owner = set(), threading.get_ident()
        try:
            host.assert_fact(name, {"sid": _SID, "id": "closing", _CLOSING: 1})
            if _CLOSED in collector.fired:
                ruleset.delete_state(_SID)
        except Exception:  # pragma: no cover - the state is then left to deleteRuleset (a leak, not a crash)
            pass
        finally:
            collector.fired = collector.owner = None

    def release(self) -> None:
        """Free the native side now; later evaluations raise ``TriageError``.  Idempotent."""
        with self.lock:
            self.closed = True
            self.drop_host(trust_states=True)

    # ----------------------------------------------------------------- evaluation

    def evaluate_grouped(self, signature: tuple, memos: Memos) -> tuple[tuple[str, ...], Review | None]:
        """Matched rules and the review for ``signature``: rulesets whose memo lacks their part are
        asked (in one locked call to durable-rules) and their answers numbered and remembered."""
        numbers: list = []
        missing = None
        for k, project in enumerate(self.projections):
            number = memos.rulesets[k].get(project(signature))
            if number is None:
                if missing is None:
                    missing = []
                missing.append(k)
            numbers.append(number)
        if missing:
            answers = self.ask_durable(signature, missing)
            with self.number_lock:
                current = memos is self.memos  # else another thread started a new generation
                for k, fired in zip(missing, answers if current else ()):
                    # each ruleset's own answer: the alternatives of one rule may sit in several rulesets,
                    # and each memo must hold what its ruleset fired, whatever another one fired too
                    number = memos.number(k, (_mask(fired), self.parts[k](signature)))
                    if number is None:  # this generation is full
                        self.renew()
                        current = False
                        break
                    memos.remember_projection(k, self.projections[k](signature), number)
                    numbers[k] = number
            if not current:  # start over on the newest generation (outside the lock)
                return self.by_signature(signature)
        numbers = tuple(numbers)
        found = memos.joined.get(numbers)
        return memos.join(numbers, self.ids, combine) if found is None else found

    def evaluate_and_review_uncached(self, signature: tuple) -> tuple[tuple[str, ...], Review | None]:
        return self.evaluate_signature(signature), self.review(signature)

    def evaluate_signature(self, signature: tuple) -> tuple[str, ...]:
        fired = set().union(*self.ask_durable(signature, range(len(self.compiled.rulesets))))
        ids = self.ids
        return tuple(ids[p] for p in sorted(fired))

    def ask_durable(self, signature: tuple, which) -> list[set[int]]:
        """Assert ``signature`` into the rulesets ``which``; per ruleset, the positions of the rules
        that fired."""
        with self.lock:
            if self.closed:
                raise TriageError("the rule evaluator was closed (its policy set was closed)")
            if self.host is None:
                self.build_host()
            answers: list[set[int]] = []
            collector = self.collector
            collector.owner = threading.get_ident()
            try:
                for k in which:
                    collector.fired = mine = set()
                    name, ruleset, fields = self.rulesets[k]
                    self.touched.add(k)
                    self.assert_one(name, ruleset, fields, signature)
                    answers.append(mine)
            except TriageError:
                self.drop_host(trust_states=False)  # rebuilt before the next evaluation
                raise
            finally:
                collector.fired = collector.owner = None
            self.durable_calls += 1
        return answers

    def assert_one(self, name, ruleset, fields, signature) -> None:
        fact = {"sid": _SID, "id": str(next(self.fact_ids))}
        for spec in fields:
            code = signature[spec.source]
            if spec.transform == "present":
                fact[spec.name] = 0 if code is None else 1
            elif code is not None:
                fact[spec.name] = code if spec.transform == "value" else int(code in spec.members)
        host = self.host
        try:
            try:
                host.assert_fact(name, fact)
            except durable_engine.MessageNotHandledException:
                pass  # no rule matched: a normal result
            finally:
                ruleset.retract_fact(fact)
        except durable_engine.MessageNotHandledException:
            pass  # retracting a fact that matched nothing
        except Exception as exc:
            raise TriageError(f"the rules engine failed while evaluating a ticket: {exc}") from None


def _no_fast_path(ticket):
    return None


def _closed(ticket_or_signature):
    raise TriageError("the rule evaluator was closed (its policy set was closed)")


class RuleEvaluator:
    """Evaluates compiled rules for normalised tickets; thread-safe.

    Matching needs no ``facts`` (the compiled rules carry the fact types they use); with them,
    :meth:`validate_and_match` also validates the common ticket in the same pass, taking the
    datetimes named in ``years`` only within those years (fact name -> first and last year).
    :meth:`close` (or ``with``) frees the native rulesets now; dropping the evaluator frees them too.
    """

    def __init__(self, compiled: CompiledRules, facts: Mapping[str, Fact] | None = None,
                 memo_size: int = DEFAULT_MEMO_SIZE, years: Mapping[str, tuple[int, int]] | None = None):
        self.compiled = compiled
        self._signature = compiled.signature_function()
        fused = fused_code(compiled, facts, years or {}) if facts is not None else None
        self._core = core = _Core(compiled, memo_size, self._signature, fused)
        # whose ``fused`` is validate_and_match's function (a new one with each generation of memos):
        # callers on a hot path read it there, without the extra call of the method
        self.matching = core
        self._finalizer = weakref.finalize(self, core.release)
        self._finalizer.atexit = False  # at exit the process's memory goes anyway

    # ----------------------------------------------------------------- public

    @property
    def stray_actions(self) -> int:
        """Actions run outside an evaluation (must stay 0)."""
        return self._core.collector.stray

    @property
    def durable_calls(self) -> int:
        """Evaluations that reached durable-rules (cache misses)."""
        return self._core.durable_calls

    @property
    def closed(self) -> bool:
        return self._core.closed

    def match(self, ticket: NormalisedTicket) -> tuple[str, ...]:
        """Ids of all rules whose condition is TRUE for ``ticket``, in policy order."""
        return self.match_and_review(ticket)[0]

    def match_and_review(self, ticket: NormalisedTicket) -> tuple[tuple[str, ...], Review | None]:
        """``(match(ticket), review)``: the review candidate of :mod:`engine.rules.review`,
        memoised with the match."""
        try:
            return self._core.lookup(ticket)
        except (TypeError, AttributeError) as exc:
            raise TriageError(f"ticket is not normalised (validate it first): {exc}") from None

    def validate_and_match(self, ticket: object) -> tuple[NormalisedTicket, tuple[tuple[str, ...], Review | None]] | None:
        """``(normalised ticket, match_and_review(it))`` in one generated pass, for the common ticket
        (see :mod:`engine.rules.fastpath`): a plain dict of declared facts whose values need no
        conversion or an exact-type one, whose free text is ASCII and whose datetimes named in
        ``years`` lie within their years.  None for any other ticket, and when this evaluator was
        built without ``facts``: then validate it completely and call :meth:`match_and_review`."""
        return self._core.fused(ticket)

    def match_uncached(self, ticket: NormalisedTicket) -> tuple[str, ...]:
        """Like :meth:`match` but always asks durable-rules (for tests and diagnostics)."""
        return self._core.evaluate_signature(self._signature_of(ticket))

    def _signature_of(self, ticket: NormalisedTicket) -> tuple:
        try:
            return self._signature(ticket)
        except (TypeError, AttributeError) as exc:
            raise TriageError(f"ticket is not normalised (validate it first): {exc}") from None

    def cache_info(self) -> dict | None:
        """Sizes of the current memos (None when memoisation is off)."""
        memos = self._core.memos
        if memos is None:
            return None
        return {"rulesets": [len(m) for m in memos.rulesets], "answers": [len(a) for a in memos.answers],
                "joined": len(memos.joined), "durable_calls": self.durable_calls}

    def close(self) -> None:
        """Free the durable rulesets now.  Every later evaluation raises ``TriageError``.  Idempotent."""
        core = self._core
        core.lookup = core.by_signature = _closed
        core.fused = _no_fast_path  # tickets take the complete path: validated, then refused by lookup  # memoised answers too: a closed evaluator answers nothing
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
