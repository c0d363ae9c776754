# The two commands of the README: `make demo` and `make test`.
SWIFT ?= swift
RELEASE_BIN = .build/release/segtune
DEMO = fixtures/demo/white-matter

.PHONY: setup demo test release

setup:
	@scripts/setup

release: setup
	$(SWIFT) build -c release --product segtune

demo: release
	$(RELEASE_BIN) inspect $(DEMO) | head -n 1
	SEGTUNE=$(RELEASE_BIN) scripts/demo

test: setup
	$(SWIFT) test
