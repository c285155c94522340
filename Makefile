# Thin wrapper: the two README commands. Everything real lives in scripts/ and CMake.
#   make run   — install dependencies, build, start the whole platform locally (cloister up)
#   make test  — install dependencies, build, run every test (ctest), sanitizer build included
.PHONY: run test setup build clean

JOBS ?= $(shell nproc)

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

run: build
	./build/bin/cloister up

test: setup
	@bash scripts/test.sh

clean:
	rm -rf build build-asan
