# syntax=docker/dockerfile:1
# The one `ambit` image behind every Kubernetes component (deploy/daemonset): controller, agent,
# ztunnel and waypoint are `ambit <command>` of the same CLI. Two stages: the build stage compiles
# the TypeScript (tsc) and the eBPF objects (clang -target bpf); the runtime stage is Debian slim
# with Node 20, bpftool and iproute2 (the agent shells out to both) and only what runs: dist/, the
# bpf objects, proto/, bin/, package.json and production node_modules.
#
# No USER: the agent and the ztunnel must run as root (pinned maps in bpffs are root-only files,
# and the agent's capabilities act on root-owned kernel objects); the DaemonSet drops every other
# capability. The controller needs none and its Deployment runs it as the image's `node` user
# (uid 1000) with a read-only root filesystem.

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /ambit
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY core core
COPY controller controller
COPY agent agent
COPY ztunnel ztunnel
COPY waypoint waypoint
COPY local-cluster local-cluster
COPY bench bench
# bench/ imports a few test/support helpers; the build compiles them into dist/test/support
COPY test/support test/support
COPY bpf bpf
RUN make -s -C bpf \
 && node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bpftool iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /ambit
COPY --from=build /ambit/package.json ./package.json
COPY --from=build /ambit/node_modules ./node_modules
COPY --from=build /ambit/dist ./dist
# the agent finds its objects at bpf/build next to bpf/Makefile (agent/bpffs.ts defaultObjectDir)
COPY --from=build /ambit/bpf/build ./bpf/build
COPY --from=build /ambit/bpf/Makefile ./bpf/Makefile
COPY proto ./proto
COPY bin ./bin
ENV NODE_ENV=production
ENTRYPOINT ["node", "/ambit/bin/ambit.js"]
