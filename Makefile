# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else here is what those two stand on, plus `make app` (an app a class can use).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
# The browser tests read it too: `make CHROMIUM=/path/to/chromium test`.
export CHROMIUM
PORT   ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: demo app test test-fast lint bench chromium postgresql venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,demo]"
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install -y chromium' (browser tests will be skipped, or fail under CI=true)"; \
	  fi; \
	fi

# Debian's PostgreSQL server for the workspace tests (each test session starts a throwaway
# cluster of its own, as an unprivileged user, on a free port on 127.0.0.1).
PG_CTL := $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl) $(shell command -v pg_ctl 2>/dev/null))
postgresql:
	@if [ -z "$(PG_CTL)" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's postgresql for the workspace tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "postgresql is missing: run 'sudo apt-get install -y postgresql' (PostgreSQL tests will be skipped, or fail under CI=true)"; \
	  fi; \
	fi

# The browser tests (mostly waiting on JupyterLab, Voila and Chromium) run beside the rest, in
# a pytest of their own: about 6 minutes each here, about 7 together on 2 cores, where one after
# the other took 12. Their report follows the rest's; both must pass.
test: venv chromium postgresql
	$(BIN)/ruff check flux2_widgets tests benchmarks
	$(BIN)/mypy
	@mkdir -p test-output
	@$(BIN)/python -m pytest -q -ra -m browser --junitxml=test-output/junit-browser.xml \
	  > test-output/browser.log 2>&1 & browser=$$!; \
	trap 'kill $$browser 2>/dev/null' INT TERM; \
	echo "browser tests running beside the rest (test-output/browser.log)"; \
	$(BIN)/python -m pytest -q -ra -m "not browser" --junitxml=test-output/junit.xml; rest=$$?; \
	wait $$browser; browser_rc=$$?; \
	echo "---- browser tests ----"; cat test-output/browser.log; \
	[ $$rest -eq 0 ] && [ $$browser_rc -eq 0 ]

test-fast: venv
	$(BIN)/python -m pytest -q -m "not browser"

lint: venv
	$(BIN)/ruff check flux2_widgets tests benchmarks
	$(BIN)/mypy

# The figures in the README's Performance section, each printed side by side in one run.
bench: venv
	$(BIN)/python benchmarks/bench_polling.py
	$(BIN)/python benchmarks/bench_storm.py
	$(BIN)/python benchmarks/bench_preview.py
	$(BIN)/python benchmarks/bench_notebook_size.py
	$(BIN)/python benchmarks/bench_workspace.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_inspect.py
	$(BIN)/python benchmarks/bench_sim_images.py

# Opens the quickstart in JupyterLab. With no RUNAPI_API_KEY the embedded simulator is used.
# The notebook goes in the server's default URL, not as a file argument: a file argument
# reaches only a browser the server opens itself, while the URL printed in the terminal
# (the one people click, or open from another machine) would still land on the Launcher.
demo: venv
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) --ServerApp.root_dir=. \
	  --LabApp.default_url=/lab/tree/notebooks/01_quickstart.ipynb

# An app a class can use, served by Voila (code hidden, widgets live, a kernel per visitor).
# APP picks the app notebook in notebooks/app/: studio (the default) is the Studio alone;
# arena is an arena's voting page and board its leaderboard for the projector, both for the
# arena NAME (`make app APP=arena NAME=styles`; created beforehand with Arena.create, README
# "Arena"). NOTEBOOK serves any other notebook, e.g.
# `make app NOTEBOOK=notebooks/06_teaching_demo.ipynb`. APP_IP=0.0.0.0 lets
# other machines in (a classroom's network). Money: FLUX2_CLASS_BUDGET and FLUX2_VISITOR_QUOTA
# (README, "Run as an app with Voila"); results and the budget's database go to
# FLUX2_RESULTS_DIR, default ./flux2_results, for every visitor's kernel.
# Kernels. A tab closed normally ends its kernel at once: Voila's page posts a shutdown as it
# unloads. Voila 0.5 refuses that post without an _xsrf cookie, which a server with no login
# never sets (voila-dashboards/voila#1458), so the check is off: with no login there is no
# session for it to protect, and the post needs the kernel's random id. A tab that never says
# goodbye (a crashed browser, a phone gone to sleep: its socket fails its pings within 90 s)
# is culled once it has had no connection and no activity for CULL_IDLE seconds, checked
# every CULL_INTERVAL seconds: 600, so a page whose network blinks reconnects to its own
# kernel (same visitor, same tiles). An open tab is never culled (cull_connected=False): a
# student reading, or the projector, keeps their Studio, where culling would leave a dead page.
APP           ?= studio
NAME          ?= $(FLUX2_ARENA)
APP_FILE_arena := arena_vote
APP_FILE_board := arena_board
NOTEBOOK      ?= notebooks/app/$(or $(APP_FILE_$(APP)),$(APP)).ipynb
APP_IP        ?= 127.0.0.1
CULL_IDLE     ?= 600
CULL_INTERVAL ?= 60
app: venv
	@if [ ! -f "$(NOTEBOOK)" ]; then echo "make app: no $(NOTEBOOK); APP is studio, arena or board"; exit 2; fi
	@if [ -n "$(filter arena board,$(APP))" ] && [ -z "$(NAME)" ]; then \
	  echo "make app APP=$(APP) needs the arena's name: make app APP=$(APP) NAME=..."; exit 2; fi
	FLUX2_ARENA="$(NAME)" FLUX2_RESULTS_DIR="$${FLUX2_RESULTS_DIR:-$(CURDIR)/flux2_results}" \
	$(BIN)/voila --no-browser --Voila.ip=$(APP_IP) --port=$(PORT) \
	  --MappingKernelManager.cull_idle_timeout=$(CULL_IDLE) \
	  --MappingKernelManager.cull_interval=$(CULL_INTERVAL) \
	  --MappingKernelManager.cull_connected=False \
	  --Voila.tornado_settings=disable_check_xsrf=True \
	  $(NOTEBOOK)

clean:
	rm -rf $(VENV) test-output .pytest_cache .ruff_cache
