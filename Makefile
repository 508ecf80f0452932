# The README's commands. Each bootstraps what it needs under .venvs/ from a fresh clone.
#   make test                                 every default nox session, counted (tests/tools/suite.py)
#   make test TAGS=units                      the sessions with these nox tags (sanity, units, integration, build, core-2.19...)
#   make test SESSIONS=simulator,runner       these nox sessions (`nox -l` lists them)
#   make test TAGS=integration TARGETS=capture_request  some integration targets only
#   make test JOBS=1                          one nox process, its output on the terminal
#   make demo                                 the demo playbook against the simulator (tests/tools/demo.py)
#   make benchmark                            the performance report against ansible.builtin.uri (tests/tools/benchmark.py)
PYTHON ?= python3
SESSIONS ?=
TAGS ?=
TARGETS ?=
JOBS ?=
ROUNDS ?=

.PHONY: test demo benchmark clean

test:
	$(PYTHON) tests/tools/suite.py $(if $(SESSIONS),--sessions $(SESSIONS)) $(if $(TAGS),--tags $(TAGS)) $(if $(TARGETS),--targets $(TARGETS)) $(if $(JOBS),--jobs $(JOBS))

demo:
	$(PYTHON) tests/tools/demo.py

benchmark:
	$(PYTHON) tests/tools/benchmark.py $(if $(ROUNDS),--rounds $(ROUNDS))

clean:
	rm -rf build tests/output
