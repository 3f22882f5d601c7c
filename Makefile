# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench package clean

$(STAMP): requirements-dev.txt functions/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	HOME=$$(mktemp -d) $(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python tools/terraform.py version
	$(BIN)/python tools/oldest_python.py
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(STAMP)
	$(BIN)/python -m bench

# The Terraform workflow module's Lambda packages (committed; tests fail when they drift from functions/).
package: $(STAMP)
	$(BIN)/python tools/package.py

clean:
	rm -rf $(VENV) .pytest_cache
