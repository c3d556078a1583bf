# Latchkey. `make run` starts the whole system locally; `make test` runs every test.
# Both install what they need (pinned) into ignored folders first.

SHELL := /bin/bash
FUNCTIONS := $(notdir $(wildcard functions/*))
NODE_BIN := infra/node_modules/.bin
GO ?= go

.PHONY: run test build synth deploy invoke bench fuzz soak lint tools clean

# Node tools (CDK CLI, DynamoDB Local, SES emulator), pinned in infra/package-lock.json.
$(NODE_BIN)/.installed: infra/package.json infra/package-lock.json
	@command -v node >/dev/null || { echo "Node.js 20+ is required: install it from https://nodejs.org and run make again."; exit 1; }
	npm ci --prefix infra --no-audit --no-fund --loglevel=error
	@# node_modules holds .go files (CDK init templates): a go.mod keeps them out of ./...
	@printf 'module ignored/node_modules\n' > infra/node_modules/go.mod
	@touch $@

tools: $(NODE_BIN)/.installed

## run: start DynamoDB Local, the SES emulator, the SMS outbox and the API on :8080.
## EXPIRY_EVERY=10s (and EXPIRY_FROM=2026-12-01T00:00:00Z) also runs the expiry
## notifier every 10 s, each run acting as the next hour.
run: tools
	$(GO) run ./cmd/latchkey-local

## build: one arm64 bootstrap per function under build/<name>/
build: $(FUNCTIONS:%=build/%/bootstrap)

build/%/bootstrap: FORCE
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w" -o $@ ./functions/$*

FORCE:

## lint: gofmt, go vet, staticcheck (pinned in go.mod as a tool)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './infra/node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## test: lint, then every test (integration tests start DynamoDB Local and the SES emulator themselves)
test: tools lint build
	$(GO) test -count=1 -p 2 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

## bench: benchmarks, then cold start, size and memory of each function against
## hello-world (cmd/coldstart, about a minute), then the expiry notifier over
## 100 000 and 1 000 000 users with 10 000 due (cmd/expirybench, about 6 minutes,
## several GiB of memory for DynamoDB Local); figures in docs/performance.md.
## COLDSTART_ARGS passes flags, such as -runs 31 or -strict (exit 1 on a missed target);
## EXPIRYBENCH_ARGS too, such as -sizes 10000,100000 -due 1000 for a quicker run.
## The load run (cmd/loadbench, 8 clients for 10 s per public route over loopback HTTP) takes LOADBENCH_ARGS, such as -c 16 -d 30s.
COLDSTART_ARGS ?=
EXPIRYBENCH_ARGS ?=
LOADBENCH_ARGS ?=
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...
	$(GO) run ./cmd/coldstart -go $(GO) $(COLDSTART_ARGS)
	$(GO) run ./cmd/loadbench $(LOADBENCH_ARGS)
	$(GO) run ./cmd/expirybench $(EXPIRYBENCH_ARGS)

## fuzz: every fuzz target of the module (found with go test -list '^Fuzz') for
## FUZZTIME each (default 1m), one after the other; a failing input is written to
## the package's testdata/fuzz/<Name>/ (commit it: it is then a regression test).
## Only packages with a `func Fuzz` in a test file are listed (listing links each
## test binary: about a minute for all of ./... on 2 cores), and listing runs no
## test, so the local services are not started for it. Go 1.26 can end a clean
## run with a bare "context deadline exceeded" (golang/go#75804): that, with no
## failing input written, is reported and not counted as a failure.
FUZZTIME ?= 1m
fuzz: tools
	@set -o pipefail; \
	pkgs=$$(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=cdk.out '^func Fuzz' . | xargs -r -n1 dirname | sort -u); \
	targets=$$(DYNAMODB_ENDPOINT=unused SES_ENDPOINT=unused $(GO) test -list '^Fuzz' $$pkgs | \
	  awk '/^Fuzz/ { n[++c] = $$1 } /^ok/ { for (i = 1; i <= c; i++) print $$2, n[i]; c = 0 }') || exit 1; \
	while read -r pkg name; do \
	  [ -n "$$name" ] || continue; \
	  echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
	  if ! out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
	    if grep -q 'Failing input written' <<<"$$out" || ! grep -q '^    context deadline exceeded$$' <<<"$$out"; then \
	      echo "$$out"; exit 1; \
	    fi; \
	    echo "fuzz: $$name stopped on Go's fuzztime deadline race, no failing input (golang/go#75804)"; \
	  fi; \
	done <<<"$$targets"

## soak: every public route and the authenticated flow (sign-in, then GETs with the token)
## for SOAK_TIME (default 10m) over loopback HTTP, a line a minute (cmd/loadbench -soak);
## fails on any 5xx or when heap or goroutines grow past twice the second minute's.
SOAK_TIME ?= 10m
soak: tools
	$(GO) run ./cmd/loadbench -soak -d $(SOAK_TIME)

## synth: cdk synth with no AWS account, of the STAGE stack (dev or prod; prod
## needs a real sender: make synth STAGE=prod CDK_ARGS="-c senderEmail=...")
STAGE ?= dev
synth: tools build
	$(NODE_BIN)/cdk synth --quiet -c stage=$(STAGE) $(CDK_ARGS)

## deploy: cdk deploy of the STAGE stack (see README "Deploying" for the parameters)
deploy: tools build
	$(NODE_BIN)/cdk deploy -c stage=$(STAGE) $(CDK_ARGS)

## invoke: make invoke FN=sessions EVENT=events/sessions-post.json
## The expiry notifier takes a clock override: make invoke FN=expiry-notifier
## EVENT=events/scheduled.daily.json AT=2026-12-01T09:00:00Z
invoke: tools
	$(GO) run ./cmd/latchkey-local invoke -fn $(FN) -event $(EVENT) $(if $(AT),-at $(AT))

clean:
	rm -rf build .local cdk.out
