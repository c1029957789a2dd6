# The two commands in the README. Both set up .venv/ first (fast when already set up).
.PHONY: demo test setup

setup:
	@python3 scripts/setup.py

demo: setup
	@.venv/bin/reflect demo

test: setup
	@.venv/bin/python -m pytest
