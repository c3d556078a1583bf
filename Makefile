# Latchkey. `make run` starts the whole system locally; `make test` runs every test.
# Both install what they need (pinned) into ignored folders first.

SHELL := /bin/bash
FUNCTIONS := $(notdir $(wildcard functions/*))
NODE_BIN := infra/node_modules/.bin
GO ?= go

.PHONY: run test build synth deploy invoke bench lint tools clean

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
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o $@ ./functions/$*

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

## bench: benchmarks, then cold start, size and memory of each function against
## hello-world (cmd/coldstart, about a minute), then the expiry notifier over
## 100 000 and 1 000 000 users with 10 000 due (cmd/expirybench, about 6 minutes,
## several GiB of memory for DynamoDB Local); figures in docs/performance.md.
## COLDSTART_ARGS passes flags, such as -runs 31 or -strict (exit 1 on a missed target);
## EXPIRYBENCH_ARGS too, such as -sizes 10000,100000 -due 1000 for a quicker run.
COLDSTART_ARGS ?=
EXPIRYBENCH_ARGS ?=
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...
	$(GO) run ./cmd/coldstart -go $(GO) $(COLDSTART_ARGS)
	$(GO) run ./cmd/expirybench $(EXPIRYBENCH_ARGS)

## synth: cdk synth with no AWS account
synth: tools build
	$(NODE_BIN)/cdk synth --quiet

## deploy: cdk deploy (see README "Deploying" for the parameters)
deploy: tools build
	$(NODE_BIN)/cdk deploy $(CDK_ARGS)

## invoke: make invoke FN=sessions EVENT=events/sessions-post.json
## The expiry notifier takes a clock override: make invoke FN=expiry-notifier
## EVENT=events/scheduled.daily.json AT=2026-12-01T09:00:00Z
invoke: tools
	$(GO) run ./cmd/latchkey-local invoke -fn $(FN) -event $(EVENT) $(if $(AT),-at $(AT))

clean:
	rm -rf build .local cdk.out
