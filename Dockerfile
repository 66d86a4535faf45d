# One image recipe for the Sightline services; SERVICE picks which one the image runs.
#   docker build --build-arg SERVICE=collector -t sightline/collector:dev .
# (docker-compose.yml builds collector, enricher and api this way; the build stage is shared in the cache.)
# services/kubetags keeps its own Dockerfile: it is deployed to the clusters, not beside the pipeline.
FROM node:20-bookworm-slim AS build
RUN npm install -g pnpm@9.15.9
WORKDIR /src
COPY . .
# The whole workspace is installed (root devDependencies carry turbo and typescript); only the three
# services' closures are built, turbo building their workspace dependencies first.
RUN pnpm install --frozen-lockfile \
 && TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build \
      --filter @sightline/collector... --filter @sightline/enricher... --filter @sightline/api...
ARG SERVICE=api
# deploy copies the service with its production dependencies (workspace packages included) to /out
RUN test -f services/${SERVICE}/dist/main.js \
 && pnpm --filter @sightline/${SERVICE} deploy --prod /out/services/${SERVICE} \
 && test -f /out/services/${SERVICE}/dist/main.js
# (deploy packs with npm-packlist rules: a .gitignore inside a service listing dist/ would drop it; the check fails the build then)

# A slim node image rather than distroless: the compose health checks run `node -e fetch(...)`,
# and the same command must work in any environment that runs this image.
FROM node:20-bookworm-slim
ARG SERVICE=api
ENV NODE_ENV=production SIGHTLINE_SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build --chown=node:node /out/ /app/
USER node
# Same layout as the repository, so `node services/<x>/dist/main.js` is the path everywhere.
ENTRYPOINT ["/bin/sh", "-c", "exec node --enable-source-maps /app/services/${SIGHTLINE_SERVICE}/dist/main.js \"$@\"", "sightline"]
