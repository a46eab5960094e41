# xgrad — the commands a user needs. `make demo` and `make test` work on a fresh Debian 12 machine.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps deps-torch configure build test test-sanitize demo bench install fixtures clean

all: build

deps:
	@scripts/install-deps.sh

deps-torch:
	@scripts/install-deps.sh --torch

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DXGRAD_SANITIZE=ON -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/examples/translate

# Benchmarks side by side with PyTorch (needs python3-torch: installed by deps-torch).
bench: deps-torch build
	scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Regenerate the PyTorch reference fixtures under tests/reference/fixtures.
fixtures: deps-torch
	/usr/bin/python3 tests/reference/make_fixtures.py
	/usr/bin/python3 tests/reference/make_nn_fixtures.py
	/usr/bin/python3 tests/reference/make_optim_fixtures.py

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
