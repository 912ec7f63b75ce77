# Weft: `make run` builds everything and starts the collector on config/default.yaml;
# `make test` builds everything and runs every test. Both install what is missing.
# Caches (cargo target dir, CMake build tree, test tools) live outside the clone.

WEFT_CACHE ?= $(HOME)/.cache/weft
export WEFT_CACHE
SRC_KEY := $(shell printf '%s' "$(CURDIR)" | md5sum | cut -c1-10)
BUILD_DIR ?= $(WEFT_CACHE)/build-$(SRC_KEY)
BUILD_TYPE ?= RelWithDebInfo
CARGO_TARGET_DIR := $(WEFT_CACHE)/cargo-target
WASMTIME_LIB := $(CARGO_TARGET_DIR)/release/libweft_wasmtime.a
WASMTIME_INCLUDE := $(WEFT_CACHE)/wasmtime/include
WEFT_BIN := $(BUILD_DIR)/weft
CONFIG ?= config/default.yaml
JOBS ?= $(shell nproc)

.PHONY: publish all deps wasmtime configure build sdk-examples run test unit-test e2e-test test-deps format lint bench clean fuzz fuzz-build fuzz-smoke test-asan test-tsan soak

all: build

deps:
	@scripts/install-deps.sh

$(WASMTIME_LIB): third_party/wasmtime/Cargo.toml third_party/wasmtime/Cargo.lock third_party/wasmtime/build.rs
	cd third_party/wasmtime && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) \
	  WEFT_WASMTIME_INCLUDE_DIR=$(WASMTIME_INCLUDE) cargo build --release --locked
	@touch $(WASMTIME_LIB)

wasmtime: deps $(WASMTIME_LIB)

# The bundled plugins are written in C, C++, Rust and Go: the Rust and Go toolchains'
# checks (and the wasm32-wasip1 Rust target) come before CMake looks for them.
configure: deps wasmtime
	@sdk/rust/setup.sh
	@sdk/go/setup.sh
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DWEFT_CARGO_TARGET_DIR=$(WEFT_CACHE)/cargo-target-sdk \
	  -DWEFT_WASMTIME_LIB=$(WASMTIME_LIB) -DWEFT_WASMTIME_INCLUDE=$(WASMTIME_INCLUDE) >/dev/null
	@ln -sfn $(BUILD_DIR) build

build: configure
	CCACHE_DIR=$(WEFT_CACHE)/ccache cmake --build $(BUILD_DIR) -j $(JOBS)

# The example plugins of every SDK language (sdk/<lang>/), each language's toolchain
# installed by its setup.sh; C's are part of `build`. Into $(BUILD_DIR)/plugins/<lang>/.
sdk-examples: build
	sdk/cpp/setup.sh && sdk/cpp/build.sh $(BUILD_DIR)/plugins/cpp
	sdk/go/setup.sh && sdk/go/build.sh $(BUILD_DIR)/plugins/go
	sdk/rust/setup.sh && sdk/rust/build.sh $(BUILD_DIR)/plugins/rust
	sdk/assemblyscript/setup.sh && sdk/assemblyscript/build.sh $(BUILD_DIR)/plugins/as

run: build
	$(WEFT_BIN) --config $(CONFIG)

test-deps:
	@scripts/setup-test-deps.sh

# The C++ unit tests, then the Rust SDK's and the Rust plugins' own (on the host).
unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	CARGO_TARGET_DIR=$(WEFT_CACHE)/cargo-target-sdk cargo test -q --manifest-path sdk/rust/Cargo.toml
	CARGO_TARGET_DIR=$(WEFT_CACHE)/cargo-target-sdk cargo test -q --locked \
	  --manifest-path plugins/prometheusremotewrite/Cargo.toml

# End-to-end tests, and the cross-language conformance suite (test/conformance).
e2e-test: build sdk-examples test-deps
	WEFT_BIN=$(WEFT_BIN) $(WEFT_CACHE)/venv/bin/python -m pytest -q test/e2e
	WEFT_BIN=$(WEFT_BIN) $(WEFT_CACHE)/venv/bin/python -m pytest -q test/conformance

test: lint unit-test e2e-test fuzz-smoke

# Packages, signs and pushes every example and bundled plugin: make publish REGISTRY=host[:port]
# (KEY, NAMESPACE, VERSION, CA_FILE as scripts/publish-plugins.sh says).
publish: build sdk-examples
	REGISTRY=$(REGISTRY) WEFT=$(WEFT_BIN) scripts/publish-plugins.sh

# The unit tests and the end-to-end tests that exercise threads (batching, queues, fan-out,
# hot reload under load, shutdown, TLS) on a build instrumented with AddressSanitizer and
# UBSan (test-asan) or ThreadSanitizer (test-tsan), each in a tree of its own. Not part of
# `make test` (a cold instrumented build does not fit CI's time): run on changes to src/.
SANITIZED_E2E = test/e2e/test_backpressure.py test/e2e/test_pipelines.py \
  test/e2e/test_shutdown.py test/e2e/test_wasm_plugins.py test/e2e/test_tls_auth.py \
  test/e2e/test_bad_input.py test/e2e/test_hostile_plugins.py
# Under ThreadSanitizer wasmtime cannot reserve its pooled memory (TSan owns most of the
# address space), so the tests that run plugins are left out of test-tsan.
TSAN_SKIP = PluginTest|EngineTest|HostFunctionsTest|CSdkTest|PluginToolTest|_wasm
TSAN_E2E = test/e2e/test_pipelines.py test/e2e/test_shutdown.py test/e2e/test_tls_auth.py \
  test/e2e/test_bad_input.py test/e2e/test_receiver_limits.py
# wasmtime turns wasm traps into signals that the sanitizers must leave to it (and handles
# them with calls TSan calls signal-unsafe); gRPC's reports are suppressed in test/tsan.supp.
SANITIZER_ENV = ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:allow_user_segv_handler=1:detect_leaks=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:suppressions=$(CURDIR)/test/tsan.supp
test-asan test-tsan: deps wasmtime test-deps
	$(eval KIND := $(if $(filter test-asan,$@),address,thread))
	$(eval SAN_DIR := $(WEFT_CACHE)/build-$(KIND)-$(SRC_KEY))
	@cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=$(KIND) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	  -DWEFT_WASMTIME_LIB=$(WASMTIME_LIB) -DWEFT_WASMTIME_INCLUDE=$(WASMTIME_INCLUDE) >/dev/null
	CCACHE_DIR=$(WEFT_CACHE)/ccache cmake --build $(SAN_DIR) -j $(JOBS)
	cd $(SAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) \
	  $(if $(filter thread,$(KIND)),-E '$(TSAN_SKIP)')
	$(SANITIZER_ENV) WEFT_BIN=$(SAN_DIR)/weft $(WEFT_CACHE)/venv/bin/python -m pytest -q \
	  $(if $(filter thread,$(KIND)),$(TSAN_E2E),$(SANITIZED_E2E))

# libFuzzer targets (fuzz/fuzz_*.cc) built with clang, AddressSanitizer and UBSan in a tree
# of their own; `make fuzz FUZZ_SECONDS=600` runs each for that long, growing its corpus in
# the cache; `fuzz-smoke` (part of `make test`) replays every kept input and runs each for a
# fixed 20,000 inputs with a fixed seed, so that a commit's result does not change from run
# to run (new findings come from `make fuzz`).
FUZZ_DIR ?= $(WEFT_CACHE)/build-fuzz-$(SRC_KEY)
FUZZ_SECONDS ?= 60
fuzz-build: deps wasmtime
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DWEFT_FUZZ=ON \
	  -DWEFT_WASMTIME_LIB=$(WASMTIME_LIB) -DWEFT_WASMTIME_INCLUDE=$(WASMTIME_INCLUDE) >/dev/null
	CCACHE_DIR=$(WEFT_CACHE)/ccache cmake --build $(FUZZ_DIR) -j $(JOBS) --target weft_fuzzers

fuzz: fuzz-build
	scripts/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	scripts/run-fuzzers.sh $(FUZZ_DIR) smoke

# weft against the Go collector and against its plugins built natively; regenerates
# bench/results/*.json and docs/performance.md (see docs/performance.md, "Method").
bench: build sdk-examples
	bench/bench.sh $(BUILD_DIR)

# Steady mixed load for DURATION (TLS, plugin reloads every minute, a destination that
# flaps, a persistent queue): RSS, descriptors, threads and queue size over time as a plot;
# fails on growth or loss (scripts/soak.py). Output in $(WEFT_CACHE)/soak.
DURATION ?= 30m
soak: build sdk-examples
	@[ -x $(WEFT_CACHE)/bench-venv/bin/python ] || python3 -m venv $(WEFT_CACHE)/bench-venv
	$(WEFT_CACHE)/bench-venv/bin/pip install -q -r bench/requirements.txt
	$(WEFT_CACHE)/bench-venv/bin/python scripts/soak.py --build $(BUILD_DIR) --duration $(DURATION)

format:
	clang-format -i $$(git ls-files '*.h' '*.c' '*.cc')

# The house style: clang-format and clang-tidy (.clang-format, .clang-tidy) over every source.
lint: build
	clang-format --dry-run --Werror $$(git ls-files '*.h' '*.c' '*.cc')
	git ls-files 'src/*.cc' | grep -v '_test\.cc$$' | \
	  xargs -P $(JOBS) -n 4 clang-tidy -p $(BUILD_DIR) --quiet 2>/dev/null

clean:
	rm -rf $(BUILD_DIR) build
