# make plan: the dev stack's plan, offline.  make test: the whole test suite.
# make bench: one prod phase-4 plan's wall time, the project's overhead over a bare registration
# of the same resources, and the suite's wall time against the plan's.
# Both create venv/ (the virtualenv Pulumi.yaml names) from the pinned requirements first.
# make help: these targets, one line each (the `## ` comment after each target's name).
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Two workers (the machines have 2 cores); work stealing keeps both busy while one waits for a
# program run the other is building (tests/run_cache.py), where a fixed split left one idle.
PYTEST_ARGS := -n 2 --dist worksteal -q

.PHONY: help plan test bench clean

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

help:  ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 16

plan: $(STAMP)  ## the dev stack's plan, offline (venv/bin/python -m qnom plan --stack dev)
	$(PY) -m qnom plan --stack dev

test: $(STAMP)  ## the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## one prod phase-4 plan's wall time and the suite's against it
	$(PY) scripts/bench.py --pytest-args "$(PYTEST_ARGS)"

clean:  ## remove venv/ and pytest's cache
	rm -rf $(VENV) .pytest_cache

# make e2e STACK=name: deploys the throwaway stack `name` (dev, phase 1) to the AWS account of the
# current credentials, checks /health through CloudFront and the load balancer, then destroys it
# (also on failure or Ctrl-C). Costs money while it runs; never run by CI.
.PHONY: e2e
e2e: $(STAMP)
	PY=$(PY) scripts/e2e.sh "$(STACK)"
