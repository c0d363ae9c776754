# The two commands of the README: `make demo` and `make test`.
SWIFT ?= swift
RELEASE_BIN = .build/release/segtune
# The held-out scan of the demo: a real JPEG 2000 CT series (scripts/setup fetches it).
DEMO = third_party/totalsegmentator/example_ct_dicom

.PHONY: setup demo test release install

setup:
	@scripts/setup

release: setup
	$(SWIFT) build -c release --product segtune

demo: release
	$(RELEASE_BIN) inspect $(DEMO) | head -n 3
	SEGTUNE=$(RELEASE_BIN) scripts/demo

# check-html-report opens score --html's page in headless Chromium (scripts/setup installs it).
# The fuzz targets are built with the sanitizers and replay their regression inputs
# (seconds once built), so none can silently stop compiling (docs/robustness.md).
# scripts/slurm-local submits docs/cluster.md's Slurm array job, with the debug binary
# `swift test` built, to a single-node cluster on localhost (about a minute; docs/cluster.md).
test: setup
	$(SWIFT) test
	SEGTUNE=.build/debug/segtune scripts/slurm-local
	REQUIRE_CHROMIUM=1 SEGTUNE=.build/debug/segtune scripts/check-html-report
	SWIFT=$(SWIFT) scripts/test-determinism
	SWIFT=$(SWIFT) scripts/fuzz --replay

# `make install` (PREFIX=/usr/local): the binary, and the default model where the
# binary looks for it (<prefix>/share/segtune/models), so segtune runs from any folder.
PREFIX ?= /usr/local
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/segtune/models
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/segtune
	install -m 644 models/lite_medsam.pth $(DESTDIR)$(PREFIX)/share/segtune/models/lite_medsam.pth
