# syntax=docker/dockerfile:1
# Build stage: a wheel of this project, so the runtime image holds no source tree or build tools.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md agent.md ./
COPY server ./server
COPY tools ./tools
COPY prompts ./prompts
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# bubblewrap is the sandbox the bash tool runs commands in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
RUN useradd --create-home --uid 10001 devops
USER devops
WORKDIR /home/devops
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8765/healthz').status != 200)"
ENTRYPOINT ["devops-mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8765"]
