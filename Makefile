# The front door.  `make demo` and `make test` work on a fresh machine.
#
#   make build   release build in build/release (the binaries users run)
#   make test    bootstrap, Debug + ASan/UBSan build with clang in build/test,
#                every test with ctest (a real Kafka broker included)
#   make demo    the demo on the embedded default; nothing else needed
#                (BROKERS=HOST:PORT: the store-order part on a real broker)
#   make bench   release build, benchmarks, figures on stdout

JOBS    ?= 2
RELEASE := build/release
TEST    := build/test

.PHONY: all bootstrap build test demo bench clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DMESHFLOW_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

test: bootstrap
	@cmake -S . -B $(TEST) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DMESHFLOW_SANITIZE=ON -DMESHFLOW_FUZZ=ON -DMESHFLOW_BENCH=OFF >/dev/null
	@cmake --build $(TEST) -j $(JOBS)
	@cd $(TEST) && ctest --output-on-failure -j $(JOBS)

demo: build
	@BROKERS=$(BROKERS) scripts/demo $(RELEASE)/cli/meshflow

bench: build
	@scripts/bench $(RELEASE)

clean:
	rm -rf build
