// The local cluster used by `ambit demo` and the e2e tests (one module, not two copies): builds
// network namespaces as nodes and pods, veths and bridges, an underlay through a control netns,
// one cgroup v2 directory per pod, the sample app in every pod, and the manifests; starts the
// controller (in the control netns), and per node the agent and the ztunnel (in the node netns),
// each node with its own scoped bootstrap token (the state dir's join-token stays the operator's);
// and on demand each waypoint instance (`ambit waypoint` in its pod's netns, outside any cgroup the
// kernel captures, with a token scoped to its Gateway).
// teardown() removes all of it, also after a failure or Ctrl-C (signal handlers + prefix sweep).
// A node can be power-cut (node-reboot.ts) and its pods restarted the way a kubelet does after
// boot: through the agent's pod start gate (`ambit cni gate`, pod-gate-call.ts), then the app.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MeshState } from '../core/model/mesh.js';
import { TokenStore } from '../controller/token-store.js';
import { DEFAULT_MESH_ADDRESS } from '../core/bpf-maps/mesh-address.js';
import { cleanupStale, killPids, ourPids, removePinsWithPrefix } from './cleanup.js';
import { cgroup2Root, distScript, inNetns, ipIn, sh } from './host.js';
import { writeExtraManifests, writeManifests, writePodReadiness } from './manifests.js';
import { until } from './until.js';
import { encodeL7Spec, type L7ClientResult, type L7ClientSpec } from './l7-client.js';
import { ManagedProcess, spawnIn } from './processes.js';
import { powerOffNode } from './node-reboot.js';
import { callPodGateUntilPassed, type PodGateTimings } from './pod-gate-call.js';
import {
  CONTROL_ADDRESS,
  CONTROL_ADDRESS6,
  CONTROLLER_PORT,
  defaultTopologySpec,
  planTopology,
  podByName,
  waypointPods,
  type NodePlan,
  type PodPlan,
  type Topology,
  type TopologySpec,
} from './topology.js';

export interface LocalClusterOptions {
  spec?: TopologySpec;
  prefix?: string;
  /** progress messages (the demo prints them) */
  progress?: (msg: string) => void;
  /** install SIGINT/SIGTERM handlers that tear down before exiting (default true) */
  signalHandlers?: boolean;
}

export interface PodRunResult {
  ok: boolean;
  bytes: number;
  ms: number;
  reply?: string;
  error?: string;
}

/** A pod restarted through the gate: the gate's timings, then its app's start and readiness. */
export interface PodStartThroughGate {
  gate: PodGateTimings;
  /** epoch ms the app process was spawned (never before gate.passedAt) */
  appStartedAt: number;
  appReadyAt: number;
  app: ManagedProcess;
}

export class LocalCluster {
  readonly cgroupRoot = cgroup2Root();
  readonly tmp: string;
  readonly configDir: string;
  readonly stateDir: string;
  readonly stateFile: string;
  readonly meshAddress = DEFAULT_MESH_ADDRESS;
  readonly processes: ManagedProcess[] = [];
  /** node name -> its --token-file, made before the controller first starts */
  private readonly nodeTokens = new Map<string, string>();
  /** `<namespace>/<gateway>` -> its --token-file, made with the node tokens */
  private readonly waypointTokens = new Map<string, string>();
  /** `<namespace>/<pod>` written with Ready=False (setPodReady) */
  private readonly notReady = new Set<string>();
  /** pod name -> its sample app process (the latest one, after restarts) */
  private readonly podApps = new Map<string, ManagedProcess>();
  private signalHandler?: (sig: NodeJS.Signals) => void;
  private tornDown = false;

  private constructor(
    readonly topology: Topology,
    private readonly progress: (msg: string) => void,
  ) {
    this.tmp = mkdtempSync(path.join(tmpdir(), `${topology.prefix}`));
    this.configDir = path.join(this.tmp, 'config');
    this.stateDir = path.join(this.tmp, 'state');
    this.stateFile = path.join(this.tmp, 'mesh-state.json');
    mkdirSync(this.configDir);
    mkdirSync(this.stateDir);
  }

  get prefix(): string {
    return this.topology.prefix;
  }

  get controllerAddress(): string {
    return `${CONTROL_ADDRESS}:${CONTROLLER_PORT}`;
  }

  /** Builds the namespaces, links, cgroups and pod apps, and writes the manifests. */
  static async create(o: LocalClusterOptions = {}): Promise<LocalCluster> {
    const topology = planTopology(o.spec ?? defaultTopologySpec(), o.prefix);
    const cluster = new LocalCluster(topology, o.progress ?? (() => undefined));
    if (o.signalHandlers !== false) cluster.installSignalHandlers();
    try {
      cluster.buildNetwork();
      cluster.buildCgroups();
      await cluster.startPodApps();
      writeManifests(cluster.configDir, topology);
    } catch (err) {
      await cluster.teardown();
      throw err;
    }
    return cluster;
  }

  node(i: number): NodePlan {
    const n = this.topology.nodes[i - 1];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  }

  pod(name: string): PodPlan {
    return podByName(this.topology, name);
  }

  podCgroup(p: PodPlan): string {
    return path.join(this.cgroupRoot, p.cgroupRel);
  }

  private installSignalHandlers(): void {
    this.signalHandler = (sig) => {
      process.stderr.write(`\n${sig}: tearing the local cluster down\n`);
      void this.teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', this.signalHandler);
    process.once('SIGTERM', this.signalHandler);
  }

  private buildNetwork(): void {
    const t = this.topology;
    this.progress(
      `creating ${t.nodes.length} nodes and ${t.pods.length} pods (network namespaces ${t.prefix}*)`,
    );
    const ctl = t.controlNetns;
    sh('ip', ['netns', 'add', ctl]);
    ipIn(ctl, ['link', 'set', 'lo', 'up']);
    ipIn(ctl, ['link', 'add', 'ul0', 'type', 'bridge']);
    ipIn(ctl, ['addr', 'add', `${CONTROL_ADDRESS}/24`, 'dev', 'ul0']);
    ipIn(ctl, ['link', 'set', 'ul0', 'up']);
    for (const n of t.nodes) {
      sh('ip', ['netns', 'add', n.netns]);
      ipIn(n.netns, ['link', 'set', 'lo', 'up']);
      inNetns(n.netns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      // underlay: node end `ul`, control end `n<i>` on the ul0 bridge
      ipIn(n.netns, ['link', 'add', 'ul', 'type', 'veth', 'peer', 'name', `n${n.index}`, 'netns', ctl]);
      ipIn(ctl, ['link', 'set', `n${n.index}`, 'master', 'ul0', 'up']);
      ipIn(n.netns, ['addr', 'add', `${n.address}/24`, 'dev', 'ul']);
      ipIn(n.netns, ['link', 'set', 'ul', 'up']);
      // pod bridge
      ipIn(n.netns, ['link', 'add', 'br0', 'type', 'bridge']);
      ipIn(n.netns, ['addr', 'add', `${n.bridgeAddress}/24`, 'dev', 'br0']);
      ipIn(n.netns, ['link', 'set', 'br0', 'up']);
    }
    this.buildIpv6Underlay();
    for (const n of t.nodes) {
      for (const other of t.nodes) {
        if (other !== n) ipIn(n.netns, ['route', 'add', other.podCidr, 'via', other.address]);
        if (other !== n && other.podCidr6 && other.address6)
          ipIn(n.netns, ['-6', 'route', 'add', other.podCidr6, 'via', other.address6]);
      }
      // the way back from the controller to pods: waypoints run in pod netns and dial it
      ipIn(ctl, ['route', 'add', n.podCidr, 'via', n.address]);
    }
    for (const p of t.pods) {
      sh('ip', ['netns', 'add', p.netns]);
      ipIn(p.netns, ['link', 'set', 'lo', 'up']);
      ipIn(p.node.netns, [
        'link',
        'add',
        p.nodeLink,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        p.netns,
      ]);
      ipIn(p.node.netns, ['link', 'set', p.nodeLink, 'master', 'br0', 'up']);
      ipIn(p.netns, ['addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
      ipIn(p.netns, ['link', 'set', 'eth0', 'up']);
      ipIn(p.netns, ['route', 'add', 'default', 'via', p.node.bridgeAddress]);
      if (p.ip6 && p.node.bridgeAddress6) {
        ipIn(p.netns, ['-6', 'addr', 'add', `${p.ip6}/64`, 'dev', 'eth0', 'nodad']);
        ipIn(p.netns, ['-6', 'route', 'add', 'default', 'via', p.node.bridgeAddress6]);
      }
    }
  }

  /** Dual stack (TopologySpec.ipv6): underlay and bridge IPv6 addresses, forwarding on. nodad:
   * usable at once instead of after duplicate address detection. */
  private buildIpv6Underlay(): void {
    const t = this.topology;
    if (!t.nodes.some((n) => n.address6)) return;
    ipIn(t.controlNetns, ['-6', 'addr', 'add', `${CONTROL_ADDRESS6}/64`, 'dev', 'ul0', 'nodad']);
    for (const n of t.nodes) {
      if (!n.address6 || !n.bridgeAddress6) continue;
      inNetns(n.netns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      ipIn(n.netns, ['-6', 'addr', 'add', `${n.address6}/64`, 'dev', 'ul', 'nodad']);
      ipIn(n.netns, ['-6', 'addr', 'add', `${n.bridgeAddress6}/64`, 'dev', 'br0', 'nodad']);
    }
  }

  private buildCgroups(): void {
    mkdirSync(path.join(this.cgroupRoot, this.topology.cgroupDirRel), { recursive: true });
    for (const p of this.topology.pods) mkdirSync(this.podCgroup(p), { recursive: true });
  }

  private async startPodApps(): Promise<void> {
    this.progress('starting the sample HTTP (8080), TCP echo (9000) and gRPC (7070) app in every pod');
    const started = this.topology.pods
      .filter((p) => p.waypoint === undefined)
      .map((p) => this.spawnPodApp(p));
    await Promise.all(started.map((proc) => proc.waitForLine(/^ready /, 15_000)));
  }

  private spawnPodApp(p: PodPlan): ManagedProcess {
    const proc = this.track(
      spawnIn(
        { netns: p.netns, cgroup: this.podCgroup(p) },
        `app ${p.spec.name}`,
        [process.execPath, distScript('local-cluster/pod-app'), p.spec.name, p.netns],
        {
          ...process.env,
          AMBIT_POD_NAME: p.spec.name,
          AMBIT_POD_NAMESPACE: p.spec.namespace,
          ...p.spec.env,
        },
      ),
    );
    this.podApps.set(p.spec.name, proc);
    return proc;
  }

  /** (Re)starts a pod's sample app, as the kubelet starts its containers; resolves once it listens. */
  async startPodApp(pod: string): Promise<{ app: ManagedProcess; startedAt: number; readyAt: number }> {
    const p = this.pod(pod);
    if (p.waypoint !== undefined) throw new Error(`pod ${pod} runs a waypoint (startWaypoint), not the app`);
    const old = this.podApps.get(pod);
    if (old?.running) throw new Error(`pod ${pod}: its app is still running`);
    if (old) this.untrack(old);
    const startedAt = Date.now();
    const app = this.spawnPodApp(p);
    await app.waitForLine(/^ready /, 15_000);
    return { app, startedAt, readyAt: Date.now() };
  }

  /**
   * Asks node-side `ambit cni gate` for a pod until it passes (the kubelet retrying a failed
   * sandbox set-up), without starting anything; node i's agent answers on its state-dir socket.
   */
  async podGate(pod: string, o: { timeoutMs?: number; retryMs?: number } = {}): Promise<PodGateTimings> {
    const p = this.pod(pod);
    return callPodGateUntilPassed({
      netns: p.node.netns,
      stateDir: this.stateDir,
      node: p.node.name,
      pod: `${p.spec.namespace}/${p.spec.name}`,
      ...o,
      track: (proc) => this.track(proc),
      untrack: (proc) => this.untrack(proc),
    });
  }

  /** A kubelet starting a pod after boot: the gate first (retried until it passes), then the app. */
  async startPodThroughGate(
    pod: string,
    o: { timeoutMs?: number; retryMs?: number; onGatePassed?: (t: PodGateTimings) => void } = {},
  ): Promise<PodStartThroughGate> {
    const { onGatePassed, ...call } = o;
    const gate = await this.podGate(pod, call);
    onGatePassed?.(gate);
    const { app, startedAt, readyAt } = await this.startPodApp(pod);
    return { gate, appStartedAt: startedAt, appReadyAt: readyAt, app };
  }

  /**
   * Node i loses power (node-reboot.ts): its agent, ztunnel and pod processes are SIGKILLed, our
   * programs' attachments, its pins and its mesh address are gone. Pod netns and cgroups stay (the
   * sandboxes the kubelet re-creates with the same IPs). Boot it with startPodThroughGate,
   * startAgent and startZtunnel.
   */
  async powerOffNode(i: number): Promise<void> {
    const node = this.node(i);
    await powerOffNode({
      node,
      pods: this.topology.pods
        .filter((p) => p.node === node)
        .map((plan) => ({ plan, cgroup: this.podCgroup(plan) })),
      meshAddress: this.meshAddress,
    });
  }

  track(proc: ManagedProcess): ManagedProcess {
    this.processes.push(proc);
    return proc;
  }

  /** Sets a net.* sysctl in every namespace of the cluster (they are ours; the host's stay as they are). */
  sysctlEverywhere(key: string, value: string): void {
    const t = this.topology;
    for (const ns of [t.controlNetns, ...t.nodes.map((n) => n.netns), ...t.pods.map((p) => p.netns)]) {
      inNetns(ns, ['sysctl', '-q', '-w', `${key}=${value}`]);
    }
  }

  /** Writes the mesh state the agents read with --state-file (controller-less runs). */
  writeMeshState(state: MeshState): void {
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    sh('mv', ['-f', tmp, this.stateFile]);
  }

  /**
   * `ambit agent` in node i's netns; with the state file when `stateFile` is true. Resolves once
   * a line matching `waitFor` is printed (default: the first mesh state is applied).
   */
  async startAgent(
    i: number,
    o: { stateFile?: boolean; resyncMs?: number; waitFor?: RegExp } = {},
  ): Promise<ManagedProcess> {
    const n = this.node(i);
    const args = [
      process.execPath,
      distScript('cli/main'),
      'agent',
      '--node',
      n.name,
      '--controller',
      this.controllerAddress,
      '--state-dir',
      this.stateDir,
      '--mesh-address',
      this.meshAddress,
      ...this.tokenArgs(n.name),
    ];
    if (o.stateFile) args.push('--state-file', this.stateFile);
    if (o.resyncMs !== undefined) args.push('--resync', String(o.resyncMs));
    const proc = this.track(spawnIn({ netns: n.netns }, `agent ${n.name}`, args));
    // default: a mesh state applied; a boot with the controller down waits for the restore instead
    await proc.waitForLine(o.waitFor ?? /first mesh state applied/, 30_000);
    return proc;
  }

  /**
   * One scoped token per node (DESIGN.md §2), written into the token store before the controller
   * starts (it loads the store at start) and into <tmp>/tokens/<node>.token for --token-file.
   */
  private async makeNodeTokens(): Promise<void> {
    if (this.nodeTokens.size > 0) return;
    const store = await TokenStore.open(this.stateDir);
    const dir = path.join(this.tmp, 'tokens');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const n of this.topology.nodes) {
      const { token } = await store.create({ kind: 'node', node: n.name });
      const file = path.join(dir, `${n.name}.token`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      this.nodeTokens.set(n.name, file);
    }
    for (const w of this.topology.waypoints) {
      const name = `${w.namespace}/${w.name}`;
      const { token } = await store.create({ kind: 'waypoint', waypoint: name });
      const file = path.join(dir, `waypoint-${w.namespace}-${w.name}.token`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      this.waypointTokens.set(name, file);
    }
  }

  private tokenArgs(node: string): string[] {
    const file = this.nodeTokens.get(node);
    return file ? ['--token-file', file] : [];
  }

  async startController(): Promise<ManagedProcess> {
    await this.makeNodeTokens();
    this.progress(`starting the controller in ${this.topology.controlNetns} on ${this.controllerAddress}`);
    const proc = this.track(
      spawnIn({ netns: this.topology.controlNetns }, 'controller', [
        process.execPath,
        distScript('cli/main'),
        'controller',
        '--config',
        this.configDir,
        '--listen',
        this.controllerAddress,
        '--state-dir',
        this.stateDir,
      ]),
    );
    await this.waitForTcp(this.topology.controlNetns, CONTROL_ADDRESS, CONTROLLER_PORT, 30_000, proc);
    return proc;
  }

  async startZtunnel(i: number, extraArgs: string[] = []): Promise<ManagedProcess> {
    const n = this.node(i);
    const proc = this.track(
      spawnIn({ netns: n.netns }, `ztunnel ${n.name}`, [
        process.execPath,
        distScript('cli/main'),
        'ztunnel',
        '--node',
        n.name,
        '--controller',
        this.controllerAddress,
        '--state-dir',
        this.stateDir,
        '--address',
        n.address,
        '--mesh-address',
        this.meshAddress,
        // several simulated nodes share this machine's cores: one process per node ztunnel
        '--workers',
        '1',
        ...this.tokenArgs(n.name),
        ...extraArgs,
      ]),
    );
    await this.waitForHttp(n.netns, `http://${n.address}:15021/healthz/ready`, 30_000, proc);
    return proc;
  }

  /**
   * `ambit waypoint` for Gateway <namespace>/<gateway> in one of its instance pods (default the
   * first), in the pod's netns but not its cgroup (a waypoint is never captured), bound to the pod
   * IP; resolves once :15021/healthz/ready answers 200.
   */
  async startWaypoint(
    namespace: string,
    gateway: string,
    o: { pod?: string; env?: Record<string, string>; extraArgs?: string[]; timeoutMs?: number } = {},
  ): Promise<ManagedProcess> {
    const p = this.waypointPod(namespace, gateway, o.pod);
    const token = this.waypointTokens.get(`${namespace}/${gateway}`);
    const proc = this.track(
      spawnIn(
        { netns: p.netns },
        `waypoint ${namespace}/${gateway} (${p.spec.name})`,
        [
          process.execPath,
          distScript('cli/main'),
          'waypoint',
          '--name',
          `${namespace}/${gateway}`,
          '--controller',
          this.controllerAddress,
          '--state-dir',
          this.stateDir,
          '--address',
          p.ip,
          ...(token ? ['--token-file', token] : []),
          ...(o.extraArgs ?? []),
        ],
        { ...process.env, ...o.env },
      ),
    );
    await this.waitForHttp(
      p.netns,
      this.waypointUrl(p, 15021, '/healthz/ready'),
      o.timeoutMs ?? 30_000,
      proc,
    );
    return proc;
  }

  /** The instance pod of a waypoint: the named one, else the first. */
  waypointPod(namespace: string, gateway: string, pod?: string): PodPlan {
    const pods = waypointPods(this.topology, namespace, gateway);
    const p = pod === undefined ? pods[0] : pods.find((x) => x.spec.name === pod);
    if (!p) throw new Error(`no waypoint pod ${pod ?? ''} for Gateway ${namespace}/${gateway}`);
    return p;
  }

  /** http://<waypoint pod ip>:<port><path>, e.g. 15090 /metrics, reachable from the pod's netns. */
  waypointUrl(p: PodPlan, port: 15021 | 15090, urlPath: string): string {
    return `http://${p.ip}:${port}${urlPath}`;
  }

  /** GETs a URL from inside a netns with curl (not captured: no cgroup); '' when it fails. */
  curlInNetns(netns: string, url: string): string {
    return inNetns(netns, ['curl', '-s', '-m', '2', url], { allowFail: true });
  }

  /**
   * Replaces the extra manifests (routes, TrafficPolicies, targetRefs policies) at run time; the
   * controller picks the change up from its watched directory.
   */
  setExtraManifests(docs: Record<string, unknown>[]): void {
    writeExtraManifests(this.configDir, docs);
  }

  /** Marks a pod Ready or not in the manifests (its endpoints and waypoint instance follow). */
  setPodReady(pod: string, ready: boolean): void {
    const p = this.pod(pod);
    const key = `${p.spec.namespace}/${p.spec.name}`;
    if (ready) this.notReady.delete(key);
    else this.notReady.add(key);
    writePodReadiness(this.configDir, this.topology, this.notReady);
  }

  /**
   * Runs a command inside a pod (its netns and cgroup, so the kernel captures its connections):
   * curl, or a local-cluster client script. Resolves with its exit code and output.
   */
  async execInPod(
    pod: string,
    argv: string[],
    timeoutMs = 30_000,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = this.pod(pod);
    const proc = this.track(
      spawnIn({ netns: p.netns, cgroup: this.podCgroup(p) }, `${argv[0] ?? ''} in ${pod}`, argv),
    );
    const timer = setTimeout(() => void proc.stop(500), timeoutMs);
    const code = await proc.wait();
    clearTimeout(timer);
    this.untrack(proc);
    return { code, stdout: proc.lines.join('\n'), stderr: proc.errLines.join('\n') };
  }

  /**
   * curl inside a pod (captured by the kernel like any app): `curlArgs` are curl's own (-H, -X,
   * --resolve, the URL...). Resolves with the status, response headers (lower-case names, repeated
   * ones joined with ", ") and body; status 0 when curl failed (its exit code in `curlExit`).
   */
  async curlInPod(pod: string, curlArgs: string[], timeoutMs = 10_000): Promise<CurlResult> {
    const r = await this.execInPod(
      pod,
      [
        'curl',
        '-sS',
        '-i',
        '--max-time',
        String(timeoutMs / 1000),
        ...curlArgs,
        '-w',
        `\n${CURL_END} %{http_code}\n`,
      ],
      timeoutMs + 5000,
    );
    return parseCurlOutput(r.stdout, r.code ?? -1, r.stderr);
  }

  /** Runs local-cluster/l7-client.ts in a pod and returns its summary. */
  async l7InPod(pod: string, spec: L7ClientSpec, timeoutMs = 120_000): Promise<L7ClientResult> {
    const r = await this.execInPod(
      pod,
      [process.execPath, distScript('local-cluster/l7-client'), encodeL7Spec(spec)],
      timeoutMs,
    );
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line)
      throw new Error(`l7-client in ${pod} printed no result (exit ${r.code}): ${r.stderr.slice(-500)}`);
    const parsed = JSON.parse(line) as L7ClientResult | { error: string };
    if ('error' in parsed) throw new Error(`l7-client in ${pod}: ${parsed.error}`);
    return parsed;
  }

  /** Forgets a process that has exited (one-shot clients), so thousands of them do not pile up. */
  private untrack(proc: ManagedProcess): void {
    const i = this.processes.indexOf(proc);
    if (i >= 0 && !proc.running) this.processes.splice(i, 1);
  }

  /** A stand-in capture listener (mesh address:15001) that answers with the original destination. */
  async startCaptureStub(i: number, extraArgs: string[] = []): Promise<ManagedProcess> {
    const n = this.node(i);
    const proc = this.track(
      spawnIn({ netns: n.netns }, `capture-stub ${n.name}`, [
        process.execPath,
        distScript('local-cluster/capture-stub'),
        n.name,
        this.meshAddress,
        '15001',
        ...extraArgs,
      ]),
    );
    await proc.waitForLine(/^ready$/, 15_000);
    return proc;
  }

  /** Runs the one-shot client inside a pod (its netns and cgroup). */
  async runInPod(pod: string, host: string, port: number, args: string[] = []): Promise<PodRunResult> {
    const p = this.pod(pod);
    return this.runClient(
      { netns: p.netns, cgroup: this.podCgroup(p) },
      `client in ${pod}`,
      host,
      port,
      args,
    );
  }

  /** Runs the one-shot client in a node's netns (outside every pod cgroup, like a kubelet probe). */
  async runInNode(i: number, host: string, port: number, args: string[] = []): Promise<PodRunResult> {
    return this.runClient({ netns: this.node(i).netns }, `client in node ${i}`, host, port, args);
  }

  /** Starts the client without waiting (long transfers). */
  startInPod(pod: string, host: string, port: number, args: string[] = []): ManagedProcess {
    const p = this.pod(pod);
    return this.track(
      spawnIn({ netns: p.netns, cgroup: this.podCgroup(p) }, `client in ${pod}`, [
        process.execPath,
        distScript('local-cluster/pod-client'),
        host,
        String(port),
        ...args,
      ]),
    );
  }

  private async runClient(
    place: { netns: string; cgroup?: string },
    name: string,
    host: string,
    port: number,
    args: string[],
  ): Promise<PodRunResult> {
    const proc = this.track(
      spawnIn(place, name, [
        process.execPath,
        distScript('local-cluster/pod-client'),
        host,
        String(port),
        ...args,
      ]),
    );
    await proc.wait();
    const line = proc.lines.find((l) => l.startsWith('{'));
    if (!line) return { ok: false, bytes: 0, ms: 0, error: `no result: ${proc.tail()}` };
    return JSON.parse(line) as PodRunResult;
  }

  private async waitForTcp(
    netns: string,
    host: string,
    port: number,
    timeoutMs: number,
    proc: ManagedProcess,
  ) {
    try {
      await until(
        `${proc.name} to accept on ${host}:${port}`,
        async () => {
          if (!proc.running) throw new Error(`${proc.name} exited: ${proc.tail()}`);
          const r = await this.runClient({ netns }, 'probe', host, port, ['--timeout', '500']);
          return r.ok || r.error === 'ECONNRESET';
        },
        timeoutMs,
        200,
      );
    } catch (err) {
      if (!proc.running) throw err; // says the process exited, with its last lines
      throw new Error(`${proc.name}: ${(err as Error).message}: ${proc.tail()}`, { cause: err });
    }
  }

  private async waitForHttp(netns: string, url: string, timeoutMs: number, proc: ManagedProcess) {
    try {
      await until(
        `${url} to answer 200`,
        () => {
          if (!proc.running) throw new Error(`${proc.name} exited: ${proc.tail()}`);
          const out = inNetns(
            netns,
            ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', url],
            {
              allowFail: true,
            },
          );
          return out.trim() === '200';
        },
        timeoutMs,
        200,
      );
    } catch (err) {
      if (!proc.running) throw err; // says the process exited, with its last lines
      throw new Error(`${proc.name}: ${(err as Error).message}: ${proc.tail()}`, { cause: err });
    }
  }

  /** Stops everything and removes every namespace, link, cgroup, pin and temp file of this cluster. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    this.progress('tearing down');
    await Promise.all(this.processes.map((p) => p.stop(1500)));
    await killPids(ourPids(this.prefix));
    await cleanupStale(this.prefix);
    removePinsWithPrefix(this.prefix);
    rmSync(this.tmp, { recursive: true, force: true });
    if (this.signalHandler) {
      process.removeListener('SIGINT', this.signalHandler);
      process.removeListener('SIGTERM', this.signalHandler);
    }
  }
}

const CURL_END = '__AMBIT_CURL_END__';

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  curlExit: number;
  error?: string;
}

/** Splits `curl -i ... -w '\n<CURL_END> %{http_code}'` output into the last response's parts. */
export function parseCurlOutput(stdout: string, exit: number, stderr = ''): CurlResult {
  const end = stdout.lastIndexOf(`\n${CURL_END} `);
  const text = end >= 0 ? stdout.slice(0, end) : stdout;
  const status = end >= 0 ? Number(stdout.slice(end + CURL_END.length + 2).trim()) : 0;
  // the last header block: 100 Continue and the like come first
  const blocks = text.split(/\r?\n\r?\n/);
  let i = 0;
  while (i + 1 < blocks.length && /^HTTP\/[\d.]+ 1\d\d/.test(blocks[i] ?? '')) i++;
  const head = blocks[i] ?? '';
  const body = blocks.slice(i + 1).join('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/).slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return {
    status: Number.isFinite(status) ? status : 0,
    headers,
    body,
    curlExit: exit,
    ...(exit !== 0 ? { error: stderr.trim().split('\n').pop() ?? `curl exit ${exit}` } : {}),
  };
}

export { cleanupStale, leftovers } from './cleanup.js';
