# tsm_mm: `make demo` runs the main job, `make test` the tests; both install first.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
WHEELS ?= ../shared/wheels
OPENCV ?= 5.0.0.93
BIN := $(VENV)/bin
STAMP := $(VENV)/.tsm_mm-installed

.PHONY: install test demo lint benchmark compare-recognition clean

install: $(STAMP)

# torch first (mmaction2 asks for an unpinned torch), then mmcv with its ops:
# the prebuilt wheel when ../shared/wheels has it, else a ~13 min compile.
$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# --upgrade: a new venv's setuptools 65 already satisfies '<80', and torch
	# (setuptools>=77.0.3) would then pull the newest one, which has no
	# pkg_resources for mmcv's setup.py
	$(BIN)/pip install -q --upgrade 'setuptools<80' wheel
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/python -c 'import mmcv.ops' 2>/dev/null || \
	if ls $(WHEELS)/mmcv-2.1.0-*.whl >/dev/null 2>&1; then \
		$(BIN)/pip install -q --only-binary mmcv --find-links $(WHEELS) mmcv==2.1.0; \
	else \
		$(BIN)/pip install -q ninja 'numpy' && \
		MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=2 $(BIN)/pip install \
			--no-cache-dir --no-build-isolation mmcv==2.1.0; \
	fi
	$(BIN)/pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(BIN)/pip install -q --force-reinstall --no-deps \
		opencv-contrib-python==$(OPENCV)
	$(BIN)/python setup.py -q develop --no-deps  # egg-link: mim finds tsm_mm/.mim
	touch $@

test: install
	$(BIN)/python -m pytest tests

demo: install
	$(BIN)/python tools/compare_vid.py --toy --work-dir work_dirs/demo

compare-recognition: install
	$(BIN)/python tools/compare_recognition.py --work-dir work_dirs/compare_recognition

lint: install
	$(BIN)/ruff check tsm_mm tools tests configs setup.py

benchmark: install
	$(BIN)/python tools/benchmark.py --out work_dirs/benchmark.json

clean:
	rm -rf work_dirs build *.egg-info tsm_mm/.mim
