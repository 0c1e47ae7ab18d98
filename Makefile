# Tidemark build and test entry points. `make test` is what CI runs.
SHELL := /usr/bin/env bash
GO ?= go
PKGS := ./...
# Tests and the simulator run with expensive invariant checks compiled in.
TEST_TAGS := invariants
TEST_TIMEOUT := 20m

.PHONY: all build test run cluster sim nemesis bench bench-go fmt lint clean

all: build

build:
	@mkdir -p bin
	@if ls cmd/*/main.go >/dev/null 2>&1; then \
		for d in cmd/*/; do \
			if [ -f $$d/main.go ]; then $(GO) build -o bin/$$(basename $$d) ./$$d || exit 1; fi; \
		done; \
	fi
	$(GO) build $(PKGS)

# Everything CI runs: vet, gofmt check, then all tests (including fuzz seed
# corpora, which `go test` runs as ordinary tests). interop/install-deps.sh
# first installs the Kafka clients the interop tests run when they are
# missing (kcat, python3-kafka, python3-confluent-kafka with apt-get;
# kafkajs with npm ci); it prints one line per install and nothing else.
# -count=1: the interop and nemesis tests build bin/broker in a subprocess,
# which go test's result cache cannot see, so a cached pass could belong
# to an older broker.
test: lint
	./interop/install-deps.sh
	$(GO) test -count=1 -tags $(TEST_TAGS) -timeout $(TEST_TIMEOUT) $(PKGS)

# One broker on the embedded defaults: node 1, a single-node cluster (RF 1),
# data in ./data, Raft on 127.0.0.1:9093, Kafka on 127.0.0.1:9092. Extra
# flags: make run ARGS='--log-level debug'.
# Ctrl-C stops it cleanly. run and cluster build only the broker, so work in
# progress elsewhere in the tree does not stop them.
run:
	@mkdir -p bin
	$(GO) build -o bin/broker ./cmd/broker
	./bin/broker $(ARGS)

# Three brokers on loopback (Kafka 127.0.0.1:19092-19094, Raft
# 127.0.0.1:19193-19195, data in ./data/cluster/node-N); Ctrl-C stops all
# three cleanly. See cmd/broker/cluster.sh and docs/operations.md.
cluster:
	@mkdir -p bin
	$(GO) build -o bin/broker ./cmd/broker
	./cmd/broker/cluster.sh ./bin/broker

# A sweep of 300 seeds of the deterministic simulator (docs/simulation.md),
# built with the expensive invariant checks; `./bin/sim bugs` hunts the
# planted bugs.
sim:
	@mkdir -p bin
	$(GO) build -tags $(TEST_TAGS) -o bin/sim ./cmd/sim
	./bin/sim sweep --seeds 1..300 --parallel 2

# A Jepsen-style campaign against real bin/broker processes (docs/testing.md):
# NEMESIS_RUNS seeded fault schedules of NEMESIS_DURATION each, then a
# summary table; exits 1 if any run found an anomaly. make test runs one
# short schedule (nemesis.TestShortRun).
NEMESIS_RUNS ?= 8
NEMESIS_DURATION ?= 90s
nemesis: build
	./bin/nemesis -broker ./bin/broker -runs $(NEMESIS_RUNS) -duration $(NEMESIS_DURATION)

# The load generator against brokers it starts itself (see
# docs/benchmarks/README.md); results go to docs/benchmarks/. Extra flags:
# make bench ARGS='--quick'. bench-go runs the Go benchmarks.
bench:
	@mkdir -p bin
	$(GO) build -o bin/broker ./cmd/broker
	$(GO) build -o bin/bench ./cmd/bench
	./bin/bench $(ARGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TEST_TAGS) $(PKGS)

clean:
	rm -rf bin
