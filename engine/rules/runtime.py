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
  rulesets' entries are then joined through one more memo.  Only a ruleset's
  miss reaches durable-rules.  ``memo_size=0`` turns memoisation off.
* A durable exception never escapes as-is: it becomes a ``TriageError`` and the
  Host is rebuilt before the next evaluation.
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
from .memos import Memos, generate_lookup
from .review import Review, combine, review_function, review_parts
from ..core.errors import TriageError
from ..facts.vocabulary import Fact, NormalisedTicket

DEFAULT_MEMO_SIZE = 65536
_SID = "0"


class _Host(durable_engine.Host):
    """A durable Host with no timer threads whose actions record rule positions."""

    def __init__(self, on_fire):
        self._on_fire = on_fire
        super().__init__()

    def _run(self):
        # durable's Host._run starts two self-rescheduling Timer threads that call
        # ruleset.dispatch() every ~0.2 s and can run an action outside the
        # caller's assert_fact.  Nothing here needs them: our actions are
        # synchronous and we use no durable timers.
        pass

    def get_action(self, action_name):
        position = int(action_name)
        on_fire = self._on_fire

        def action(c):  # exactly one parameter: durable treats two as an async action
            on_fire(position)

        return action


def _projection(key: tuple[int, ...]):
    """``signature -> the part of it a ruleset reads`` (hashable)."""
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


def _release_handles(handles):
    for handle in handles:
        try:
            durable_rules_engine.delete_ruleset(handle)
        except Exception:  # pragma: no cover - best effort at teardown
            pass


class RuleEvaluator:
    """Evaluates compiled rules for normalised tickets; thread-safe.

    ``facts`` is accepted for symmetry with the loader and is not needed: the
    compiled rules carry the fact types they use.
    """

    def __init__(self, compiled: CompiledRules, facts: Mapping[str, Fact] | None = None,
                 memo_size: int = DEFAULT_MEMO_SIZE):
        self.compiled = compiled
        self._ids = tuple(rule.id for rule in compiled.rules)
        self._signature = compiled.signature_function()
        self._lock = threading.Lock()
        self._fired: set[int] | None = None
        self._owner: int | None = None
        self._fact_ids = itertools.count()
        self._host: _Host | None = None
        self._handles: list[int] = []
        self._closed = False
        self.stray_actions = 0  # actions run outside an evaluation (must stay 0)
        self.durable_calls = 0  # evaluations that reached durable-rules (cache misses)
        self._finalizer = weakref.finalize(self, _release_handles, self._handles)
        with self._lock:
            self._build_host()
        self._memo_size = memo_size
        self._projections = tuple(_projection(spec.key) for spec in compiled.rulesets)
        self._review = review_function(compiled)
        self._parts = review_parts(compiled)
        self._number_lock = threading.Lock()  # numbering answers and starting generations
        if memo_size > 0:
            self._renew()
        else:
            self._lookup = lambda ticket: self._evaluate_and_review_uncached(self._signature(ticket))

    # ----------------------------------------------------------------- public

    def match(self, ticket: NormalisedTicket) -> tuple[str, ...]:
        """Ids of all rules whose condition is TRUE for ``ticket``, in policy order."""
        return self.match_and_review(ticket)[0]

    def match_and_review(self, ticket: NormalisedTicket) -> tuple[tuple[str, ...], Review | None]:
        """``(match(ticket), review)``: the review candidate of :mod:`engine.rules.review`,
        memoised with the match."""
        try:
            return self._lookup(ticket)
        except (TypeError, AttributeError) as exc:
            raise TriageError(f"ticket is not normalised (validate it first): {exc}") from None

    def match_uncached(self, ticket: NormalisedTicket) -> tuple[str, ...]:
        """Like :meth:`match` but always asks durable-rules (for tests and diagnostics)."""
        return self._evaluate_signature(self._signature_of(ticket))

    def _signature_of(self, ticket: NormalisedTicket) -> tuple:
        try:
            return self._signature(ticket)
        except (TypeError, AttributeError) as exc:
            raise TriageError(f"ticket is not normalised (validate it first): {exc}") from None

    def cache_info(self) -> dict | None:
        """Sizes of the current memos (None when memoisation is off)."""
        if self._memo_size <= 0:
            return None
        memos = self._memos
        return {"rulesets": [len(m) for m in memos.rulesets], "answers": [len(a) for a in memos.answers],
                "joined": len(memos.joined), "durable_calls": self.durable_calls}

    def _renew(self) -> None:
        """Start a new generation of memos, with its lookup function (see :mod:`engine.rules.memos`)."""
        memos = Memos(len(self.compiled.rulesets), self._memo_size)
        keys = tuple(spec.key for spec in self.compiled.rulesets)
        args = (memos, keys, lambda signature: self._evaluate_grouped(signature, memos),
                lambda numbers: memos.join(numbers, self._ids, combine))
        self._memos = memos
        self._by_signature = generate_lookup(*args)
        self._lookup = generate_lookup(*args, signature=signature_code(self.compiled))

    def close(self) -> None:
        """Free the durable rulesets now.  The evaluator cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._host = None
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------- internals

    def _on_fire(self, position: int) -> None:
        fired = self._fired
        if fired is None or threading.get_ident() != self._owner:
            self.stray_actions += 1
            return
        fired.add(position)

    def _build_host(self) -> None:
        """Create a fresh Host with every ruleset.  Caller holds the lock."""
        if self._host is not None:
            self._host = None
            _release_handles(self._handles)
            self._handles.clear()
        host = _Host(self._on_fire)
        names = tuple(f"triage{k}" for k in range(len(self.compiled.rulesets)))
        try:
            host.set_rulesets({name: json.loads(spec.definition)
                               for name, spec in zip(names, self.compiled.rulesets)})
        except Exception as exc:
            raise TriageError(f"the rules engine rejected a compiled ruleset: {exc}") from None
        finally:
            self._handles.extend(rs._handle for rs in host._ruleset_list)
        self._rulesets = tuple((name, host.get_ruleset(name), spec.fields)
                               for name, spec in zip(names, self.compiled.rulesets))
        self._host = host

    def _evaluate_grouped(self, signature: tuple, memos: Memos) -> tuple[tuple[str, ...], Review | None]:
        """Matched rules and the review for ``signature``: rulesets whose memo lacks their part are
        asked (in one locked call to durable-rules) and their answers numbered and remembered."""
        numbers: list = []
        missing = None
        for k, project in enumerate(self._projections):
            number = memos.rulesets[k].get(project(signature))
            if number is None:
                if missing is None:
                    missing = []
                missing.append(k)
            numbers.append(number)
        if missing:
            answers = self._ask_durable(signature, missing)
            with self._number_lock:
                current = memos is self._memos  # else another thread started a new generation
                for k, fired in zip(missing, answers if current else ()):
                    # each ruleset's own answer: the alternatives of one rule may sit in several rulesets,
                    # and each memo must hold what its ruleset fired, whatever another one fired too
                    number = memos.number(k, (_mask(fired), self._parts[k](signature)))
                    if number is None:  # this generation is full
                        self._renew()
                        current = False
                        break
                    memos.remember_projection(k, self._projections[k](signature), number)
                    numbers[k] = number
            if not current:  # start over on the newest generation (outside the lock)
                return self._by_signature(signature)
        numbers = tuple(numbers)
        found = memos.joined.get(numbers)
        return memos.join(numbers, self._ids, combine) if found is None else found

    def _ask_durable(self, signature: tuple, which) -> list[set[int]]:
        """Assert ``signature`` into the rulesets ``which``; per ruleset, the positions of the rules
        that fired."""
        with self._lock:
            if self._closed:
                raise TriageError("the rule evaluator was closed")
            if self._host is None:
                self._build_host()
            answers: list[set[int]] = []
            self._owner = threading.get_ident()
            try:
                for k in which:
                    self._fired = mine = set()
                    name, ruleset, fields = self._rulesets[k]
                    self._assert_one(name, ruleset, fields, signature)
                    answers.append(mine)
            except TriageError:
                self._host = None  # rebuild before the next evaluation
                raise
            finally:
                self._fired = self._owner = None
            self.durable_calls += 1
        return answers

    def _evaluate_and_review_uncached(self, signature: tuple) -> tuple[tuple[str, ...], Review | None]:
        return self._evaluate_signature(signature), self._review(signature)

    def _evaluate_signature(self, signature: tuple) -> tuple[str, ...]:
        fired = set().union(*self._ask_durable(signature, range(len(self.compiled.rulesets))))
        ids = self._ids
        return tuple(ids[p] for p in sorted(fired))

    def _assert_one(self, name, ruleset, fields, signature) -> None:
        fact = {"sid": _SID, "id": str(next(self._fact_ids))}
        for spec in fields:
            code = signature[spec.source]
            if spec.transform == "present":
                fact[spec.name] = 0 if code is None else 1
            elif code is not None:
                fact[spec.name] = code if spec.transform == "value" else int(code in spec.members)
        host = self._host
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
