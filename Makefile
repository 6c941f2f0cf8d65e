# Cairn — the one entry point for building, running and testing.
GO        ?= go
BIN       := bin/cairn
PORT      ?= 6379
DIR       ?= ./data
PKGS      := ./...
# The race detector runs over every package in `make test` except:
#  - ./server/clustertest: its in-process clusters and fault-injection
#    rounds take ~4 min on 2 cores without the race detector and several
#    times that with it; `make test-race` runs it (and the chaos suite runs
#    the same code under `make chaos`).
#  - ./server/crashtest: it SIGKILLs a separate cairn process built
#    without the race detector, so instrumenting the test process checks
#    nothing of the server.
#  - ./bench/...: benchmark tools without tests.
#  - ./regions/composetest: it drives docker containers of a cairn built
#    without the race detector (it skips without docker).
RACE_PKGS := $(shell $(GO) list ./... | grep -v -e /server/clustertest -e /server/crashtest -e /bench/ -e /regions/composetest)
FUZZTIME  ?= 10s

.PHONY: dashboard-screenshots modules lua build run test test-race fuzz fuzz-diff bench bench-types bench-cluster bench-metrics bench-modules bench-tls bench-secpu bench-atrest bench-floor bench-vector bench-vector-engine bench-regions bench-regions-procs bench-regions-cluster-procs bench-dashboard crash chaos docker compose-up compose-down test-compose lint fmt clean

build: lua ## Build bin/cairn (static, CGO disabled)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) .

# The Lua interpreter module (EVAL, SCRIPT), embedded by package
# modules/lua: built before anything that compiles the binary or its tests.
LUA_WASM := modules/lua/wasm/lua.wasm
lua: $(LUA_WASM) ## Build the Lua interpreter Wasm module (modules/lua/guest) that the binary embeds
$(LUA_WASM): $(wildcard modules/lua/guest/*.go) $(wildcard modules/sdk/go/cairn/*.go) go.mod go.sum
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $@ ./modules/lua/guest

run: build ## Start one durable node on 127.0.0.1:$(PORT) with data in $(DIR)
	./$(BIN) --port $(PORT) --dir $(DIR)

test: build ## Unit, integration, differential, crash and short fuzz tests
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)
	$(MAKE) fuzz FUZZTIME=5s

test-race: ## Race detector over every package
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fuzz: ## Run each fuzz target for FUZZTIME (.ci/fuzz.sh)
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh

crash: build ## Long crash test: many SIGKILLs under load
	CAIRN_CRASH_KILLS=200 $(GO) test -count=1 -timeout 60m -run TestCrash ./server/crashtest/ -v

chaos: ## Long fault-injection run on in-process clusters (CAIRN_CHAOS_DURATION, default 5m; CAIRN_CHAOS_SEED replays)
	CAIRN_CHAOS_DURATION=$${CAIRN_CHAOS_DURATION:-5m} $(GO) test -run Chaos -count=1 -timeout 60m -v ./server/clustertest/

bench: build ## Benchmarks against real redis-server: strings/hashes, data types, then the cluster benchmark
	./bench/run.sh
	bash bench/types.sh
	bash bench/cluster.sh
	CAIRN_BIN=$(BIN) bash bench/tls.sh
	CAIRN_BIN=$(BIN) bash bench/atrest.sh

bench-tls: build ## TLS cost: GET/SET through TLS vs plaintext on Cairn and on redis-server with TLS (bench/out/tls.md; TLS_N, TLS_P)
	CAIRN_BIN=$(BIN) bash bench/tls.sh

bench-secpu: build ## Server CPU per GET: ACL-checked user and TLS vs plaintext default user, interleaved rounds (bench/out/secpu.md; SECPU_N, SECPU_ROUNDS, SECPU_P)
	CAIRN_BIN=$(BIN) bash bench/secpu.sh

bench-modules: build ## Wasm functions: Cairn FCALL vs Cairn GET/SET and redis-server EVALSHA/FCALL of the same Lua; load times (bench/out/modules.md; MODULES_N)
	bash bench/modules.sh

bench-types: build ## Data-type benchmark vs redis-server (lists, sets, zsets, streams, memory, default redis-benchmark list)
	bash bench/types.sh

fuzz-diff: ## Random differential tests vs redis-server for every family, for FUZZ_DIFF (default 2m) each
	CAIRN_FUZZ_DIFF=$${FUZZ_DIFF:-2m} $(GO) test -count=1 -timeout 120m -run 'TestDiffRandom' -v ./server/command/... ./server/pubsub/

bench-metrics: build ## Metrics overhead: GET/SET with /metrics off vs on and scraped every second (bench/out/metrics.md)
	CAIRN_BIN=$(BIN) bash bench/metrics.sh

bench-atrest: build ## Encryption at rest: durable SET -P 1 and -P 16, plaintext vs --encryption-key-file data dir (bench/out/atrest.md; ATREST_N, ATREST_ROUNDS)
	CAIRN_BIN=$(BIN) bash bench/atrest.sh

bench-cluster: ## Cluster benchmark: 3-node cluster vs redis-server, failover RTO, resharding (bench/out/cluster.md)
	bash bench/cluster.sh

bench-dashboard: ## Dashboard: first render of every page under load on a 3-node cluster (curl, and first contentful paint in chromium), throughput with/without an open page (stdout)
	bash bench/dashboard.sh

bench-floor: build ## Durable-write floor layer by layer: raw Dragonboat, Cairn shard, RESP server, Redis AOF-always (bench/out/floor.md; FLOOR_FLAGS adds flags)
	$(GO) build -o bench/out/floor-bin ./bench/floor
	./bench/out/floor-bin -cairn $(BIN) -out bench/out/floor.md $(FLOOR_FLAGS)

bench-vector: build ## FT.* end to end through RESP on a bin/cairn node vs hnswlib (python3-hnswlib) and coder/hnsw (bench/out/vector.md; VECTOR_FLAGS, e.g. -n 20000), then Redis 8 vector sets, 10k x 64-d per quantization (bench/out/vset.md; VSET_FLAGS)
	mkdir -p bench/out
	$(GO) run ./bench/vector -cairn $(BIN) -out bench/out/vector.md -n 100000 -queries 1000 -ef 10,50,100,200 -dump bench/out/vector-e2e-data.bin -hnswlib bench/vector/hnswlib_bench.py -server-log bench/out/vector-cairn.log $(VECTOR_FLAGS)
	$(GO) run ./bench/vector -vset -cairn $(BIN) -out bench/out/vset.md -n 10000 -dim 64 -queries 1000 -server-log bench/out/vset-cairn.log $(VSET_FLAGS)

bench-regions: ## Regions: lag p50/p99/max at 10k writes/s over a 50 ms link, throughput with/without a secondary, catch-up after a 60 s cut, planned switchover (bench/out/regions.md; REGION_RATE, REGION_SECS, REGION_CUT_SECS, REGION_DELAY_MS)
	mkdir -p bench/out
	CAIRN_BENCH_REGIONS=$(CURDIR)/bench/out/regions.md CAIRN_BENCH_REGIONS_CLUSTER=$(CURDIR)/bench/out/regions-cluster.md $(GO) test -count=1 -timeout 30m -run TestBenchRegions -v ./regions/

bench-regions-procs: build ## Regions as two processes: SET throughput and the primary's CPU per write with the secondary stopped, pulling, and pulling under SCHED_IDLE (bench/out/regions-procs.md; REGIONS_N, REGIONS_ROUNDS)
	bash bench/regions-procs.sh

bench-regions-cluster-procs: build ## Two regions of three node processes (local-regions.sh): cluster SET throughput and region 1's CPU per write with region 2 stopped, pulling, and pulling under SCHED_IDLE (bench/out/regions-cluster-procs.md; REGIONS_N, REGIONS_ROUNDS, REGIONS_P)
	bash bench/regions-cluster-procs.sh

bench-vector-engine: ## Vector engine: Cairn HNSW vs coder/hnsw vs hnswlib (python3-hnswlib) on a clustered set (bench/out/vector-engine.md; VECTOR_FLAGS, e.g. -n 100000)
	mkdir -p bench/out
	$(GO) run ./bench/vector -dump bench/out/vector-data.bin -hnswlib bench/vector/hnswlib_bench.py $(VECTOR_FLAGS) | tee bench/out/vector-engine.md

docker: build ## Image cairn:dev, FROM scratch with the static binary
	docker build -f deploy/Dockerfile -t cairn:dev .

compose-up: ## Two regions of three nodes as containers (deploy/compose): build the static binaries and images, start, wait until every node serves, print the ports
	GO=$(GO) bash deploy/compose/compose.sh up

compose-down: ## Remove the compose topology's containers, networks and volumes
	bash deploy/compose/compose.sh down

test-compose: ## Only the compose test (regions/composetest; also part of make test when docker is present): link cut, catch-up, forced promotion
	$(GO) test -count=1 -timeout 10m -run TestCompose -v ./regions/composetest/

dashboard-screenshots: ## Run the dashboard's browser test (chromium) and save its screenshots in docs/dashboard/
	CAIRN_SCREENSHOTS=$(CURDIR)/docs/dashboard $(GO) test -count=1 -run TestBrowser -v ./web/

modules: ## Build the example Wasm modules into bin/modules/<name>.wasm (Go, GOOS=wasip1)
	@mkdir -p bin/modules
	@set -e; for d in modules/examples/*/; do n=$$(basename $$d); \
		ls $$d*.go >/dev/null 2>&1 || continue; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o bin/modules/$$n.wasm ./$$d; \
		echo "bin/modules/$$n.wasm"; done

lint: ## go vet + gofmt check
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)

fmt:
	gofmt -w .

clean:
	rm -rf bin data
