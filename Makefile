# rmslab — the two commands of the README: `make lab` and `make test`.
# No root needed: everything goes into .venv (a graphviz `dot` too, from graphviz-pure).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: lab test venv typecheck unit notebooks bench refresh-notebooks student clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rmslab needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	@# graphviz-pure ships one static binary; expose it as `dot` unless a dot is already in the venv
	test -e $(BIN)/dot || ln -s graphviz-pure $(BIN)/dot
	$(BIN)/dot -V >/dev/null 2>&1 || (echo "the graphviz dot in $(BIN) does not run" && exit 1)
	touch $(STAMP)

lab: venv
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

test: venv
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/notebooks/sanitize.cfg --nbval-cell-timeout=300 notebooks/

bench: venv
	$(BIN)/python bench/verify_and_sign.py

# The student edition: the notebooks without their reference solutions (cells tagged
# `solution`, removed by nbconvert's TagRemovePreprocessor), outputs cleared.
student: venv
	$(BIN)/python -m rmslab.exercises.student notebooks build/student

refresh-notebooks: venv
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis build
