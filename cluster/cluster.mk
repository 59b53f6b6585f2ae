# Single-node Kubernetes for Shoal, built from parts (see docs/local-cluster.md).
# Included by the top-level Makefile; also usable alone: make -f cluster/cluster.mk cluster-up
CLUSTER_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: cluster-build cluster-up cluster-down cluster-smoke cluster-status

# Go builds only (kube-*, kubelet, kubectl, etcd, CoreDNS, pause); cached per version.
cluster-build:
	@$(CLUSTER_DIR)/build.sh

# Start (or complete) the cluster; prints the KUBECONFIG path.
cluster-up:
	@$(CLUSTER_DIR)/up.sh

# Stop everything and remove processes, mounts, netns, cni0/veths and KUBE-*/CNI-* chains.
cluster-down:
	@$(CLUSTER_DIR)/down.sh

# End-to-end checks on a running cluster, then cluster-down and a leftovers check.
cluster-smoke:
	@$(CLUSTER_DIR)/smoke.sh

cluster-status:
	@$(CLUSTER_DIR)/status.sh
