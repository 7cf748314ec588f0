# syntax=docker/dockerfile:1

# ---- build: install everything, generate the Prisma client, compile, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
# `prisma generate` never runs the schema engine; pointing at /bin/false skips its download.
ENV CI=true \
    PRISMA_SCHEMA_ENGINE_BINARY=/bin/false

COPY package.json package-lock.json ./
# --ignore-scripts: nothing needs an install script. argon2@0.44.0 loads its bundled linux-x64 prebuild
# (it loads on Node 24, and 20, without a compiler), and Prisma's engine download is not used (driver adapters).
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
COPY src ./src
# prebuild runs `prisma generate` into src/generated/prisma; tsc compiles it into dist/generated.
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: compiled code, production dependencies and the migrations, run as `node` ----
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
# KEYWARD_DATA_DIR is used only when DATABASE_URL is unset (embedded PGlite); its lock file
# (<dir>.pid) sits beside it, so both live in the node-owned volume.
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    KEYWARD_DATA_DIR=/var/lib/keyward/data

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations are applied at start from prisma/migrations (resolved relative to dist/).
COPY --from=build /app/prisma ./prisma

RUN mkdir -p /var/lib/keyward && chown node:node /var/lib/keyward
VOLUME ["/var/lib/keyward"]
USER node

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
