# xgrad — the commands a user needs. `make demo` and `make test` work on a fresh Debian 12 machine.
SHELL      := /bin/bash
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
TSAN_BUILD ?= build-tsan
PKG_BUILD  ?= build-package
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps deps-torch configure build test demo-distributed test-sanitize test-tsan test-clang fuzz fuzz-seeds stress demo bench install package test-package fixtures clean

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

# The library and its test suite under ThreadSanitizer (every translation unit instrumented). OpenBLAS is not
# instrumented, so it runs single-threaded here; xgrad's own thread pool runs on 2 threads. Open MPI is not
# instrumented either: this build leaves MPI out (-DXGRAD_WITH_MPI=OFF), which also checks that everything
# builds and passes without it (xgrad::distributed as a world of size 1; the mpirun tests reported skipped).
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DXGRAD_TSAN=ON -DXGRAD_WITH_MPI=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && OPENBLAS_NUM_THREADS=1 XGRAD_NUM_THREADS=2 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --output-on-failure -j $(JOBS)

# The second compiler: everything built with clang and tested.
test-clang: deps
	cmake -S . -B $(CLANG_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DXGRAD_BUILD_BENCH=OFF
	cmake --build $(CLANG_BUILD) -j $(JOBS)
	cd $(CLANG_BUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer on the readers of files and saved state (tests/fuzz), FUZZ_SECONDS each (default 60),
# starting from the committed seed corpora; new inputs go to a scratch folder, crashes to $(FUZZ_BUILD)/crashes.
FUZZ_TARGETS = npy_fuzz:npy npz_module_fuzz:npz optim_state_fuzz:optim example_inputs_fuzz:examples safetensors_fuzz:safetensors
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g" -DXGRAD_FUZZ=ON -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@mkdir -p $(FUZZ_BUILD)/crashes
	@set -e; for t in $(FUZZ_TARGETS); do name=$${t%%:*}; seeds=$${t##*:}; \
	  rm -rf $(FUZZ_BUILD)/work/$$name && mkdir -p $(FUZZ_BUILD)/work/$$name; \
	  echo "== $$name, $(FUZZ_SECONDS) s, seeds tests/fuzz/corpus/$$seeds"; \
	  OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BUILD)/tests/fuzz/$$name -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$name- \
	    $(FUZZ_BUILD)/work/$$name tests/fuzz/corpus/$$seeds 2>&1 | grep -E '^(stat::number_of_executed_units|INFO: (Loaded|seed corpus)|==|SUMMARY|Done)' ; \
	  test $${PIPESTATUS[0]} -eq 0; done

# Kill trials at length: SIGKILL a training run at 30 random moments, resume from each last checkpoint.
STRESS_TRIALS ?= 30
stress: build
	examples/tests/kill_test.sh $(BUILD)/examples/translate $(BUILD)/stress_kill_trials $(STRESS_TRIALS)

# Rewrites the committed seed corpora from the current formats.
fuzz-seeds: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DXGRAD_FUZZ=ON -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target make_fuzz_seeds
	ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BUILD)/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus

demo: build
	$(BUILD)/examples/translate

# The same demo data-parallel on 2 ranks of one machine (mpirun from Open MPI; each rank gets half the cores).
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe --mca btl self,vader
demo-distributed: build
	$(MPIRUN) -np 2 $(BUILD)/examples/translate --name dates-2-ranks

# Benchmarks side by side with PyTorch (needs python3-torch: installed by deps-torch).
bench: deps-torch build
	scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# A portable .deb (libxgrad-dev): shared libraries, no -march=native, files under /usr.
package: deps
	cmake -S . -B $(PKG_BUILD) -DCMAKE_BUILD_TYPE=Release -DXGRAD_NATIVE=OFF -DBUILD_SHARED_LIBS=ON -DCMAKE_INSTALL_PREFIX=/usr -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_BENCH=OFF -DXGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(PKG_BUILD) -j $(JOBS)
	cd $(PKG_BUILD) && cpack -G DEB
	@ls $(PKG_BUILD)/*.deb

# The .deb unpacked into a scratch root and used from there by find_package and by pkg-config.
test-package: package
	tests/consumer/run_deb.sh $(PKG_BUILD)

# Regenerate the PyTorch reference fixtures under tests/reference/fixtures.
fixtures: deps-torch
	/usr/bin/python3 tests/reference/make_fixtures.py
	/usr/bin/python3 tests/reference/make_nn_fixtures.py
	/usr/bin/python3 tests/reference/make_optim_fixtures.py

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
