# Two commands: `make rehearse` and `make test`. Both create the virtual
# environment and install the project first when needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: rehearse test bench bench-latency excerpt install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Eco-Symphony needs Python 3.11 or newer; set PYTHON=python3.11 (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@echo "Compiling the signal core's kernels (once, about 15 s)..."
	@$(PY) -c 'from installation.dsp.core import compile_kernels; print(f"  done in {compile_kernels():.1f} s (cached for every later run)")'
	@touch $(STAMP)

rehearse: $(STAMP)
	$(PY) -m installation rehearse $(ARGS)

# The import contracts first (pyproject.toml: [tool.importlinter]), then the tests.
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks print figures (accuracy on real recordings, cost per sample against
# NeuroKit2 and HeartPy measured in the same run, the sound patch's CPU share;
# event -> sound latency against a bare pyo OscReceive, under JACK: needs jackd);
# beat times from packet-stamped samples, offline and live over OSC; beat -> DMX frame at a
# receiver and the lighting output's CPU (sACN on this machine); beat -> MIDI note under JACK
# against bare python-rtmidi in the same run; they are not tests.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m installation.bench.core_accuracy $(ARGS)
	$(PY) -m installation.bench.noise_stress
	$(PY) -m installation.bench.motion
	$(PY) -m installation.bench.reconnect
	$(PY) -m installation.bench.mapping_cost
	$(PY) -m installation.bench.patch_cpu
	$(PY) -m installation bench latency --transport osc
	$(PY) -m installation bench latency --transport serial
	$(PY) -m installation.bench.beat_lock
	$(PY) -m installation.bench.sound_faults
	$(PY) -m installation.bench.clock_jitter
	$(PY) -m installation.bench.link_grid
	$(PY) -m installation.bench.lights
	$(PY) -m installation.bench.flashes
	$(PY) -m installation.bench.midi
	$(PY) -m installation.bench.record_cost
	$(PY) -m installation.bench.render_nodes
	$(PY) -m installation.bench.nodes --hubs 4 --wearers 32

# Event -> first changed sample, real time under JACK's dummy driver (Debian jackd2).
bench-latency: $(STAMP)
	$(PY) -m installation bench latency --transport osc $(ARGS)
	$(PY) -m installation bench latency --transport serial $(ARGS)
	$(PY) -m installation.bench.beat_lock

# The two-minute excerpt in docs/: the default show, six simulated wearers, rendered
# offline, then compressed (needs ffmpeg).
excerpt: $(STAMP)
	$(PY) -m installation render patches/default.toml --participants 6 --seed 1 --duration 120 --out runs/excerpt.wav
	ffmpeg -loglevel error -y -i runs/excerpt.wav -c:a libvorbis -q:a 0 docs/excerpt.ogg

clean:
	rm -rf $(VENV) runs .pytest_cache
