# Two entry points for a fresh Debian machine (as root):
#   make demo   install what is missing, build, migrate the bundled example
#   make test   install what is missing, build, start throw-away servers,
#               run every test, stop the servers
#   make bench  Release build in build-bench, mig against the databases' own
#               clients (N=100 for a quick run, W=W1,W3 for some workloads)
#   make format rewrite the C sources to .clang-format; make format-check
#               lists the files that differ and fails (CI runs it)
BUILD    ?= build
JOBS     ?= 2
SANITIZE ?= 0
CMAKE_FLAGS ?=
BENCH_BUILD ?= build-bench
W ?= all

ifeq ($(SANITIZE),1)
BUILD := build-sanitize
CMAKE_FLAGS += -DMIG_SANITIZE=ON
# exit statuses above 128, which the CLI tests take for a crash, so that a
# sanitizer report can never pass for one of mig's own exit codes
export ASAN_OPTIONS  ?= exitcode=199:detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS  ?= exitcode=198
export UBSAN_OPTIONS ?= exitcode=197:halt_on_error=1:print_stacktrace=1
endif

FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz
FUZZ_TARGETS := config revfile target url sqlsplit

.PHONY: all deps test-deps bench-deps build demo test bench fuzz lint format format-check clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

# Stamps written only after a configure succeeded: a failed one leaves a
# CMakeCache.txt behind, which must not pass for a configured tree. The
# tests are built when CUnit is found (make demo installs no test-only
# package); make test asks for them, so a tree configured by make demo
# before CUnit was installed is configured again once, with the tests.
$(BUILD)/configured.stamp:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	@touch $@

$(BUILD)/configured-tests.stamp:
	cmake -S . -B $(BUILD) -DMIG_BUILD_TESTS=ON $(CMAKE_FLAGS)
	@touch $@ $(BUILD)/configured.stamp

build: deps $(BUILD)/configured.stamp
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

# scripts/run-tests.sh lists the skipped tests at the end and fails on a
# skip that tests/skips.allowed does not name
test: test-deps $(BUILD)/configured-tests.stamp
	cmake --build $(BUILD) -j $(JOBS)
	@scripts/run-tests.sh $(BUILD)

bench-deps:
	@scripts/bench.sh deps

bench: test-deps bench-deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DMIG_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	@N='$(N)' scripts/bench.sh $(BENCH_BUILD) $(W)

# libFuzzer over the parsers, FUZZ_SECONDS each (tests/fuzz/run.sh)
fuzz:
	@scripts/deps.sh --fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DMIG_FUZZ=ON -DMIG_SANITIZE=ON -DMIG_BUILD_TESTS=ON \
	  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# static analysis: cppcheck, and clang-tidy with .clang-tidy, over the code
# and the test plugins and fuzz targets (not the drivers' CUnit programs,
# whose assertions the analyser cannot follow); any finding fails
LINT_DIRS := core drivers tests/plugins tests/fuzz tests/alloc
lint:
	@scripts/deps.sh --lint
	cppcheck -q --std=c11 --enable=warning,performance,portability --inline-suppr \
	  --error-exitcode=1 -D__GNUC__ -I core/include -I core/src -j $(JOBS) \
	  --suppress=uninitvar:core/src/drv.c --suppress=arrayIndexOutOfBounds:core/src/lua_db.c $(LINT_DIRS)
	cmake -S . -B build-lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DMIG_BUILD_TESTS=ON >/dev/null
	run-clang-tidy -p build-lint -j $(JOBS) -quiet '$(CURDIR)/(core/|drivers/[a-z]+/(?!test_)|tests/(plugins|fuzz)/)' \
	  >build-lint/clang-tidy.log 2>&1 || { grep -E 'error:|warning:' build-lint/clang-tidy.log; exit 1; }
	@echo "lint: cppcheck and clang-tidy clean"

# clang-format comes with the test packages (scripts/deps.sh --test)
format:
	@scripts/format.sh

format-check:
	@scripts/format.sh --check

clean:
	rm -rf build build-sanitize build-fuzz build-lint $(BENCH_BUILD) demo.db
