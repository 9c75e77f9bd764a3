# Convenience targets; the README's two commands are the canonical set-up.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast validate bench clean schemas-check

$(BIN)/triage: pyproject.toml
	python3 -m venv $(VENV) && $(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/triage
	$(BIN)/triage validate policies
	$(BIN)/triage evaluate examples/tickets.jsonl

validate: $(BIN)/triage
	$(BIN)/triage validate --strict policies

test: $(BIN)/triage
	$(BIN)/pytest -q

# the everyday run: everything but the tests marked slow (see the README)
test-fast: $(BIN)/triage
	$(BIN)/pytest -q -m "not slow"

bench: $(BIN)/triage
	$(BIN)/pip install -q -e '.[bench]'
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
