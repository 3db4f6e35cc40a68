# Two entry points for a fresh Debian machine (as root):
#   make demo   install what is missing, build, migrate the bundled example
#   make test   install what is missing, build, start throw-away servers,
#               run every test, stop the servers
#   make bench  Release build in build-bench, mig against the databases' own
#               clients (N=100 for a quick run, W=W1,W3 for some workloads)
BUILD    ?= build
JOBS     ?= 2
SANITIZE ?= 0
CMAKE_FLAGS ?=
BENCH_BUILD ?= build-bench
W ?= all

ifeq ($(SANITIZE),1)
BUILD := build-sanitize
CMAKE_FLAGS += -DMIG_SANITIZE=ON
endif

.PHONY: all deps test-deps bench-deps build demo test bench clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: test-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	@scripts/run-tests.sh $(BUILD)

bench-deps:
	@scripts/bench.sh deps

bench: test-deps bench-deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DMIG_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	@N='$(N)' scripts/bench.sh $(BENCH_BUILD) $(W)

clean:
	rm -rf build build-sanitize $(BENCH_BUILD) demo.db
