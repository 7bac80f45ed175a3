# customer-gateway: `customer-gateway serve` on 0.0.0.0:8000 as an unprivileged user.
#
#   docker build -t customer-gateway .
#   docker run --rm -p 8000:8000 customer-gateway                      # the sandbox demo
#   docker run --rm -p 8000:8000 -v ./gateway.toml:/etc/customer-gateway/gateway.toml:ro \
#     -e GATEWAY_CONFIG=/etc/customer-gateway/gateway.toml -e GATEWAY_CURSOR_KEY -e ... customer-gateway
#
# Every Python package comes from the hashed lock files, so two builds install the same bytes.
# PYTHON_IMAGE is any Debian-based image with python3 (3.11+) and its venv module.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The dependencies first, in their own layer: a change to the code does not reinstall them.
COPY requirements.lock requirements-build.lock ./
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --only-binary=:all: -r requirements-build.lock
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY resolvers resolvers
COPY sandbox sandbox
# The project itself as a wheel built with the locked hatchling (no unpinned build
# environment), installed without dependencies: they all came from the lock above.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/python -m compileall -q /opt/venv

FROM ${PYTHON_IMAGE}
# A fixed numeric uid, so `runAsNonRoot` can check it without reading /etc/passwd.
RUN groupadd --gid 10001 gateway \
 && useradd --uid 10001 --gid gateway --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
# GATEWAY_WORKERS: uvicorn worker processes (`serve --workers`); share a cache between them
# with GATEWAY_CACHE__URL. GATEWAY_CONFIG: a mounted TOML settings file; unset, the gateway
# reads only GATEWAY_* variables and, with no tenants, serves the demo tenant on the sandbox
# it starts inside the container. GATEWAY_PORT: the port inside the container.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATEWAY_WORKERS=1 \
    GATEWAY_PORT=8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# The same liveness probe an orchestrator would use; python, because the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['GATEWAY_PORT'] + '/livez', timeout=2)"]
# `exec`: the gateway replaces the shell as PID 1, so SIGTERM reaches it (its handler stops the
# sandbox and the workers it started).
# --host is fixed: inside a container, loopback only would be unreachable.
CMD ["sh", "-c", "exec customer-gateway serve --host 0.0.0.0 --port \"$GATEWAY_PORT\" --workers \"$GATEWAY_WORKERS\" ${GATEWAY_CONFIG:+--config \"$GATEWAY_CONFIG\"}"]
