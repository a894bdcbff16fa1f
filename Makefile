# Steward: the two commands a newcomer runs are `make demo` and `make test`.
# Every target installs missing Debian packages first (idempotent), then builds incrementally.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
DEMO_DB    ?= $(BUILD_DIR)/demo.db
DEMO_REQUESTS ?= 20000

.PHONY: all deps configure build demo test bench clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).anchor
	$(BUILD_DIR)/steward demo --headless --requests $(DEMO_REQUESTS) --db $(DEMO_DB) --seed 42
	$(BUILD_DIR)/steward audit-log verify --db $(DEMO_DB)
	@echo "Open the dashboard with: $(BUILD_DIR)/steward dashboard --db $(DEMO_DB)"

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	./bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
