# Container images (tracker issue 6). Included from the Makefile; alone: make -f images/images.mk images
#   make images         builds localhost/shoal/shoal:<package.json version> (docker when an engine
#                       runs, else podman or buildah; assembles the node base first when no
#                       registry is reachable, see images/README.md)
#   make images-save    state/images/shoal-<version>.tar (docker-archive) for ctr -n k8s.io images import
#   make images-smoke   each component's --help in the image, and a kvpod container answering /readyz
#   make images-base    only the base image docker.io/library/node:24-bookworm-slim
#   make images-tools   podman, buildah, runc, debootstrap from Debian when no engine is installed
STATE ?= state
IMAGES_STATE ?= $(STATE)/images
IMAGES_VERSION := $(shell node -p 'require("./package.json").version' 2>/dev/null)
SHOAL_IMAGE ?= localhost/shoal/shoal:$(IMAGES_VERSION)
IMAGES_TAR := $(IMAGES_STATE)/shoal-$(IMAGES_VERSION).tar
IMAGES_ENV = IMAGES_STATE=$(IMAGES_STATE) SHOAL_IMAGE=$(SHOAL_IMAGE) SHOAL_VERSION=$(IMAGES_VERSION)

.PHONY: images images-base images-tools images-save images-smoke images-clean images-load e2e-image-smoke

images-tools:
	@images/build.sh tools

images-base: images-tools
	@$(IMAGES_ENV) images/build.sh base

images: images-tools
	@$(IMAGES_ENV) images/build.sh build

# Rebuilt when the image is (re)built; podman/docker build is itself cached by layer.
images-save: images
	@$(IMAGES_ENV) images/build.sh save

images-smoke: images
	@$(IMAGES_ENV) CERTS=$(or $(CERTS),$(STATE)/certs) images/build.sh smoke

# Scratch only (context, base work files, tarballs); images stay in the engine's storage.
images-clean:
	rm -rf $(IMAGES_STATE)

# Puts the saved image into the local cluster's containerd (k8s.io namespace; make cluster-up first).
images-load: images-save
	@ctr --address /run/shoal-cluster/containerd/containerd.sock -n k8s.io images import $(IMAGES_TAR)

# The image as a Deployment in the local cluster, Ready through its probes (e2e/image-smoke.sh).
e2e-image-smoke: images-load
	@e2e/image-smoke.sh
