# `make run` and `make test` work for an ordinary user on a fresh machine: no root, no apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements*.txt | cksum | cut -d' ' -f1)
ADDR   ?= 127.0.0.1:3000

.PHONY: install run test bench migrate clean

$(STAMP): requirements.txt requirements-dev.txt requirements-piper.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# A laptop run: DEBUG on (a dev SECRET_KEY is then allowed). Production sets DEBUG=0 and SECRET_KEY itself.
migrate run: export DEBUG ?= 1

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py serve --addr $(ADDR)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/e2e.py

clean:
	rm -rf $(VENV) db.sqlite3* test_db.sqlite3*
