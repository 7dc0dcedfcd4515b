# Entry points: `make run` and `make test`.  Everything else is meson/ninja.
BUILD ?= build
PY := /usr/bin/python3
FUZZ_SECONDS ?= 10

.PHONY: all deps test-deps build build-clang build-asan run test unit integration \
	integration-asan policy-tests conformance fuzz-smoke \
	fuzz bench format lint clean

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	ninja -C $(BUILD)

build-clang:
	@[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang >/dev/null
	ninja -C build-clang

build-asan:
	@[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
	ninja -C build-asan

run: build
	@./scripts/run.sh $(BUILD)/postern

# docs/architecture.md: no two files of src/server or src/policyd depend on
# each other both ways (counted from the objects' symbols).
unit: build build-asan
	$(PY) scripts/file-cycles.py $(BUILD) src/server
	$(PY) scripts/file-cycles.py $(BUILD) src/policyd
	meson test -C $(BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs

integration: build
	POSTERN_BIN=$(CURDIR)/$(BUILD)/postern $(PY) -m pytest -q -p no:cacheprovider tests/integration

# The sender-check transcripts (tests/policy/README.md): every policy rule
# replayed through `postern policy test` against its expected output, with
# the sanitizer build too (a leak or undefined behaviour fails the run).
policy-tests: build build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		POSTERN_BIN=$(CURDIR)/build-asan/postern $(PY) tests/policy/run.py
	POSTERN_BIN=$(CURDIR)/$(BUILD)/postern $(PY) tests/policy/run.py

# The SPF test suites of RFC 7208 and RFC 4408 (tests/conformance/README.md),
# then the DKIM vectors and the python3-dkim interop checks.
conformance: build
	POSTERN_BIN=$(CURDIR)/$(BUILD)/postern $(PY) tests/conformance/spf_suite.py
	POSTERN_BIN=$(CURDIR)/$(BUILD)/postern $(PY) tests/conformance/dkim_suite.py
	POSTERN_BIN=$(CURDIR)/$(BUILD)/postern $(PY) tests/conformance/arc_suite.py

# The same scenarios against the sanitizer build: a leak or undefined
# behaviour in any process fails the test that caused it.
integration-asan: build-asan
	POSTERN_BIN=$(CURDIR)/build-asan/postern $(PY) -m pytest -q -p no:cacheprovider \
		tests/integration

fuzz-smoke:
	./fuzz/run.sh all $(FUZZ_SECONDS)

fuzz:
	./fuzz/run.sh all 600

# The order matters: the last runner's summary line is what CI reads.
test: test-deps build build-clang unit fuzz-smoke integration-asan policy-tests conformance integration

bench: build
	./bench/accept.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
		--suppress=missingIncludeSystem -I src src

clean:
	rm -rf build build-clang build-asan build-fuzz
