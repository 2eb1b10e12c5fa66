# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo serve test lint fuzz bench gallery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# gdlab with the extra "serve" (Starlette, uvicorn, orjson, numba) that `gdlab serve` needs
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[serve]'
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/gdlab demo

# the playground: an interactive page on http://127.0.0.1:8000/ (Ctrl-C stops it)
serve: $(STAMP)
	$(BIN)/gdlab serve

# the browser tests (tests/test_serve_browser.py) run in /usr/bin/chromium when it is there
# and are skipped otherwise, saying how to install it (apt-get install chromium)
test: $(TEST_STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 -q
	$(MAKE) --no-print-directory lint

# ruff (pyflakes, pycodestyle, import order, bugbear, complexity), mypy on the package, and
# the import contracts of docs/ARCHITECTURE.md (layers, no cycles)
lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks scripts docs
	$(BIN)/mypy
	$(BIN)/lint-imports

# Property-based tests of formula input with many more examples than `make test` runs
# (several minutes): the parser, the texts gdlab writes and reads back, the compiled
# evaluator. Not part of `make test`.
fuzz: $(TEST_STAMP)
	HYPOTHESIS_PROFILE=fuzz OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -p no:cacheprovider -k fuzz tests/test_formula_fuzz.py tests/test_expr.py

bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache

# The README's gallery: every picture under docs/gallery is made by this one target.
GALLERY := docs/gallery
gallery: $(STAMP)
	mkdir -p $(GALLERY)
	$(BIN)/gdlab minimize 'x**2 + 2*x + 3' --x0 5 --lr 0.1 --plot $(GALLERY)/descent-1d.png
	$(BIN)/gdlab minimize 'x**2' --x0 1 --lr 1.05 --plot $(GALLERY)/diverged.png
	$(BIN)/gdlab minimize rosenbrock --x0 -1.2,1 --plot $(GALLERY)/rosenbrock.png --animate $(GALLERY)/rosenbrock.gif
	$(BIN)/gdlab compare rosenbrock --x0 -1.5,2 --optimizers sgd,momentum,nesterov,adam,rmsprop,adagrad --lr 0.001,0.001,0.001,0.05,0.01,0.5 --plot $(GALLERY)/compare.png
	$(BIN)/gdlab minimize himmelblau --restarts 30 --seed 1 --plot $(GALLERY)/many-starts.png
	$(BIN)/gdlab plot 'x**2 + 2*x*y + 3 + cos(x + 2*y)' --bounds -3:3,-3:3 --gradients --out $(GALLERY)/gradient-field.png
	$(BIN)/gdlab fit digits --model mlp --hidden 64 --epochs 30 --val-fraction 0.1 --quiet --plot $(GALLERY)/loss.png
	$(BIN)/python docs/gallery_models.py $(GALLERY)
