# syntax=docker/dockerfile:1
#
# devops-engineer-mcp, production image: one shared instance serving streamable HTTP on 8765
# (/mcp, /healthz, /readyz, /metrics). How to run it on Kubernetes: docs/deployment.md.
#
# Base image: CPython 3.11.16 on Debian 12 "bookworm" (slim), pinned by tag AND by the digest of
# its multi-arch index. With both present the digest wins; the tag says what the digest is.
# Refresh both together (Renovate/Dependabot do this), e.g.:
#   docker buildx imagetools inspect python:3.11.16-slim-bookworm --format '{{json .Manifest.Digest}}'
# The same reference is used by both stages, so the wheel is built by the Python it runs on.
ARG PYTHON_IMAGE=python:3.11.16-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# ---------------------------------------------------------------------------------------------
# Stage 1: build a wheel of this project and of every runtime dependency. Nothing from this
# stage reaches the final image except the wheels, and those only through a bind mount.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (hatchling reads pyproject.toml, README.md as the long
# description, and force-includes agent.md into the prompts package).
COPY pyproject.toml README.md agent.md ./
COPY server ./server
COPY tools ./tools
COPY prompts ./prompts
RUN pip wheel --wheel-dir /wheels .

# ---------------------------------------------------------------------------------------------
# Stage 2: the runtime. No compiler, no source tree, no build cache, no secrets.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="devops-engineer-mcp" \
      org.opencontainers.image.description="MCP server for the DevOps-engineer subagent: guarded GitHub, Supabase and sandboxed bash tools" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HOME=/home/devops \
    DEVOPS_MCP_WORKSPACE=/workspace

# bubblewrap is the sandbox the `bash` tool runs commands in (it also uses prlimit, nsenter and
# setpriv from util-linux, which is Essential in Debian and so already present). The version is
# pinned to what bookworm ships; bump it when Debian publishes a security update.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap=0.8.0-2+deb12u1 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# A fixed, non-root UID/GID (10001), so that Kubernetes' runAsUser/fsGroup and file ownership
# on volumes are predictable. No login shell, no lastlog entry (-l).
RUN groupadd --system --gid 10001 devops \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
       --home-dir /home/devops --create-home --shell /usr/sbin/nologin devops \
    && install -d -o 10001 -g 10001 -m 0750 /workspace

# The wheels are bind-mounted from the build stage, not copied: they leave no layer behind.
# --no-index: every dependency comes from the wheels built above, nothing is fetched here.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/devops_engineer_mcp-*.whl \
    && devops-mcp --help >/dev/null

USER 10001:10001
WORKDIR /workspace
EXPOSE 8765

# Liveness for plain Docker/Compose (Kubernetes uses its own probes, see deploy/kubernetes).
# Python instead of curl: no extra package in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4).status == 200 else 1)"]

# Binding 0.0.0.0 requires DEVOPS_MCP_HTTP_TOKEN (the server refuses to start without it).
ENTRYPOINT ["devops-mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8765"]
