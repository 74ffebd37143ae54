# The echolot image for distributed load runs (docs/distributed.md): `docker build -t echolot .`
# in a clone. The build stage installs, compiles the TypeScript and builds the native I/O module
# (npm ci runs both), and fails when the native module did not build; the runtime stage keeps
# only what `echolot` needs to run.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY scripts/ scripts/
COPY native/ native/
COPY harness/ harness/
COPY suites/ suites/
COPY reference-server/ reference-server/
RUN npm ci --no-audit --no-fund \
  && ECHOLOT_IO=native node dist/harness/cli/main.js --version \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
# iproute2: `ip route get` tells the safety cap the route's MTU (docs/load.md, Safety).
RUN apt-get update \
  && apt-get install -y --no-install-recommends iproute2 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/build/Release/echolot_io.node build/Release/
ENV ECHOLOT_IO=native
USER node
ENTRYPOINT ["node", "/app/dist/harness/cli/main.js"]
