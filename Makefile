# Two entry points for a fresh Debian machine (as root):
#   make demo   install what is missing, build, migrate the bundled example
#   make test   install what is missing, build, start throw-away servers,
#               run every test, stop the servers
BUILD    ?= build
JOBS     ?= 2
SANITIZE ?= 0
CMAKE_FLAGS ?=

ifeq ($(SANITIZE),1)
BUILD := build-sanitize
CMAKE_FLAGS += -DMIG_SANITIZE=ON
endif

.PHONY: all deps test-deps build demo test clean

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

clean:
	rm -rf build build-sanitize demo.db
