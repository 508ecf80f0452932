# The README's commands. Each bootstraps its own virtualenv under .venvs/ from a fresh clone.
#   make test                            every stage for every toolchain (tests/tools/run_tests.py)
#   make test STAGES=sanity,units        a subset of the stages
#   make test TOOLCHAINS=core-2.19-py3.11  a subset of the ansible-core/Python matrix
#   make test STAGES=integration TARGETS=capture_request  some integration targets only
#   make test JOBS=1                     one toolchain after the other, every command's output on the terminal
#   make demo                            the demo playbook against the simulator (tests/tools/demo.py)
#   make benchmark                       the performance report against ansible.builtin.uri (tests/tools/benchmark.py)
PYTHON ?= python3
STAGES ?=
TOOLCHAINS ?=
TARGETS ?=
JOBS ?=
ROUNDS ?=

.PHONY: test demo benchmark clean

test:
	$(PYTHON) tests/tools/run_tests.py $(if $(STAGES),--stages $(STAGES)) $(if $(TOOLCHAINS),--toolchains $(TOOLCHAINS)) $(if $(TARGETS),--targets $(TARGETS)) $(if $(JOBS),--jobs $(JOBS))

demo:
	$(PYTHON) tests/tools/demo.py

benchmark:
	$(PYTHON) tests/tools/benchmark.py $(if $(ROUNDS),--rounds $(ROUNDS))

clean:
	rm -rf build tests/output
