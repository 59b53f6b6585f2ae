# Shoal. `make kvpod` runs the storage server; `make test` runs the checks.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STATE ?= state
CERTS ?= $(STATE)/certs
NODE_TSX := node --import tsx

.PHONY: help demo install tools kube-bins helm e2e e2e-kind typecheck lint unit conformance test certs kvpod sqlpod bench-kv bench-sql bench-proxy bench-coldstart bench-operator bench-cluster conformance-postgres clean

help:
	@echo "make demo      a whole Shoal host cluster on this machine: kvpod, proxy, SQL pod pool, two tenants (DEMO_FLAGS=--help for options)"
	@echo "make kvpod     start a development kvpod (certificates in $(CERTS), data in $(STATE)/kvpod)"
	@echo "make sqlpod    start an unbound development SQL pod (stamp it with the operator certificate)"
	@echo "make test      typecheck + lint + unit and integration tests + conformance"
	@echo "make conformance  sqllogictest corpus against Shoal, checked against the floor"
	@echo "make certs     create a development host CA and the certificates of the design brief"
	@echo "make bench-kv  KV throughput: in-process RocksDB vs kvpod over gRPC + mTLS"
	@echo "make bench-sql SQL throughput with pgbench: Shoal (kvpod + sqlpod) beside a throwaway PostgreSQL"
	@echo "make bench-proxy  pgbench -S against a throwaway PostgreSQL: directly, through PgBouncer, through the proxy"
	@echo "make bench-coldstart  50 resumes of a suspended demo tenant: connect through the proxy to first row, with the breakdown"
	@echo "make bench-operator  1,000 CrdbTenants to Ready and 50 resumes at once through the proxy, on a real API server (BENCH_FLAGS=--tenants N --resumes N)"
	@echo "make bench-cluster  warm cluster-up and image build times, image size (BENCH_FLAGS=--cold: cold builds too)"
	@echo "make e2e       the end-to-end suite on the local cluster: helm install, kubectl apply a tenant, psql through the proxy (e2e-kind: the same on kind)"
	@echo "make cluster-up / cluster-down  a single-node Kubernetes v1.33 built from parts (docs/local-cluster.md); cluster-smoke checks it"
	@echo "make images    the Shoal image localhost/shoal/shoal:<version> (docker, else podman/buildah; images/README.md)"
	@echo "make conformance-postgres  sqllogictest corpus against a throwaway PostgreSQL (the runner's reference check)"

# The first command of the README: installs what is missing, then starts.
DEMO_FLAGS ?=
demo: install tools
	$(NODE_TSX) demo/main.ts $(DEMO_FLAGS)

# npm ci only when the lockfile changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

# The image's own compile too: it leaves tests and fixtures out, so a runtime
# file that imports one fails there and nowhere else.
typecheck: install
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p images/tsconfig.build.json --noEmit

lint: install
	npx eslint .

# psql, pgbench and a PostgreSQL server: clients in tests, the baseline in benchmarks.
tools:
	@shared/testing/ensure-postgres.sh

# etcd and kube-apiserver for the tests that need a real API server: built once
# from cluster/k8s (about 6 minutes cold on 2 cores), cached in state/cluster/bin.
kube-bins:
	@cluster/build.sh etcd kube-apiserver

# helm for the chart's tests (helm lint, helm template validated by the API server): built once, ~2.5 minutes.
helm:
	@charts/helm.sh >/dev/null

unit: install tools kube-bins helm
	npx vitest run

# The end-to-end run on the local cluster: the cluster's smoke test (up from nothing … down
# leaving nothing behind), then up again with the image loaded and its smoke test, then the
# suite, which installs the chart.
e2e: install cluster-smoke cluster-up e2e-image-smoke
	@e2e/run.sh local

# The same suite on kind, for machines with a Docker engine (kind create, docker build, kind load).
e2e-kind: install
	@e2e/run.sh kind

# The sqllogictest corpus against Shoal; fails below sqlpod/conformance/floor.json.
conformance: install
	$(NODE_TSX) sqlpod/conformance/main.ts --target shoal --check-floor --show-failures 0

test: typecheck lint unit conformance

$(CERTS)/ca.crt: | install
	$(NODE_TSX) shared/certs/cli.ts dev --dir $(CERTS)

certs: $(CERTS)/ca.crt

kvpod: install certs
	$(NODE_TSX) kvpod/main.ts --data-dir $(STATE)/kvpod --ca-cert $(CERTS)/ca.crt --cert $(CERTS)/kvpod.crt --key $(CERTS)/kvpod.key

sqlpod: install certs
	$(NODE_TSX) sqlpod/main.ts --ca-cert $(CERTS)/ca.crt --cert $(CERTS)/pool.crt --key $(CERTS)/pool.key

bench-kv: install
	$(NODE_TSX) bench/kv/main.ts

bench-sql: install tools
	$(NODE_TSX) bench/sql/main.ts

# PgBouncer (Debian's package) is the baseline the proxy is compared with.
bench-proxy: install tools
	@bench/proxy/ensure-pgbouncer.sh
	$(NODE_TSX) bench/proxy/main.ts

bench-coldstart: install tools
	$(NODE_TSX) bench/coldstart/main.ts

# The operator on a real kube-apiserver + etcd, the bench playing kubelet for the SQL pod pool (bench/operator/main.ts).
bench-operator: install tools kube-bins
	$(NODE_TSX) bench/operator/main.ts $(BENCH_FLAGS)

# Warm cluster-up and image build times and the image size (BENCH_FLAGS=--cold rebuilds everything first).
BENCH_FLAGS ?=
bench-cluster: install
	$(NODE_TSX) bench/cluster/main.ts $(BENCH_FLAGS)

conformance-postgres: install tools
	$(NODE_TSX) sqlpod/conformance/main.ts --target postgres

clean:
	rm -rf dist $(STATE)

# A single-node Kubernetes built from parts: cluster-build, cluster-up, cluster-down, cluster-smoke, cluster-status.
include cluster/cluster.mk
# The container image: images, images-save, images-smoke (images/README.md).
include images/images.mk
