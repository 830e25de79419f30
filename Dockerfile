# syntax=docker/dockerfile:1
# MCP Gateway container image: a build stage compiles the TypeScript, a slim runtime stage holds only the
# production dependencies, the compiled code and the console. CI has no container engine: the recipe check
# (scripts/check-image-recipe.ts) reads THIS file and performs its COPY/RUN/CMD/HEALTHCHECK steps in a clean
# folder, so keep every step here in the simple forms it understands (exec-form JSON for CMD/ENTRYPOINT/HEALTHCHECK).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would compile before the sources are copied in.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts because `prepare` needs TypeScript, a devDependency.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY web ./web
COPY --from=build /app/dist ./dist
# The config file is mounted here (the Helm chart's ConfigMap); secrets come in as environment variables
# (${VAR} in the file) or files such as the assertion signing key.
ENV PORT=8080
EXPOSE 8080
# The node image's unprivileged user (uid 1000); nothing under /app is writable by it.
USER node
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; the gateway handles it (not ready, drain runs, exit 0).
# Upstream stdio servers are node's own children and are reaped by it; run with `--init` (or tini) only if
# those servers leave orphans of their own.
ENTRYPOINT ["node", "bin/mcp-gateway.js"]
CMD ["start", "--config", "/etc/mcp-gateway/gateway.yaml"]
