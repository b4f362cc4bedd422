# `make run` and `make test` work for an ordinary user on a fresh machine: no root, no apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REQS   := requirements.txt $(wildcard requirements/*.txt)
SUM    := $(shell cat $(REQS) | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
DEV    := $(VENV)/.installed-dev-$(SUM)
ADDR   ?= 127.0.0.1:3000

.PHONY: install install-dev run test bench migrate clean

# web + worker + Piper voices: everything one machine runs (requirements/ splits it per machine)
$(STAMP): $(REQS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	@rm -f $(VENV)/.installed-[0-9]* && touch $@

# ... and the test tools
$(DEV): $(STAMP)
	$(BIN)/python -m pip install -q -r requirements/dev.txt
	@rm -f $(VENV)/.installed-dev-* && touch $@

install: $(STAMP)
install-dev: $(DEV)

# A laptop run: DEBUG on (a dev SECRET_KEY is then allowed). Production sets DEBUG=0 and SECRET_KEY itself.
migrate run: export DEBUG ?= 1

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py serve --addr $(ADDR)

test: install-dev
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python bench/e2e.py

clean:
	rm -rf $(VENV) db.sqlite3* test_db.sqlite3*
