// The local cluster used by `ambit demo` and the e2e tests (one module, not two copies): builds
// network namespaces as nodes and pods, veths and bridges, an underlay through a control netns,
// one cgroup v2 directory per pod, the sample app in every pod, and the manifests; starts the
// controller (in the control netns), and per node the agent and the ztunnel (in the node netns),
// each node with its own scoped bootstrap token (the state dir's join-token stays the operator's).
// teardown() removes all of it, also after a failure or Ctrl-C (signal handlers + prefix sweep).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MeshState } from '../core/model/mesh.js';
import { TokenStore } from '../controller/token-store.js';
import { DEFAULT_MESH_ADDRESS } from '../core/bpf-maps/mesh-address.js';
import { cleanupStale, killPids, ourPids, removePinsWithPrefix } from './cleanup.js';
import { cgroup2Root, distScript, inNetns, ipIn, sh } from './host.js';
import { writeManifests } from './manifests.js';
import { until } from './until.js';
import { ManagedProcess, spawnIn } from './processes.js';
import {
  CONTROL_ADDRESS,
  CONTROLLER_PORT,
  defaultTopologySpec,
  planTopology,
  podByName,
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
    for (const n of t.nodes) {
      for (const other of t.nodes) {
        if (other !== n) ipIn(n.netns, ['route', 'add', other.podCidr, 'via', other.address]);
      }
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
    }
  }

  private buildCgroups(): void {
    mkdirSync(path.join(this.cgroupRoot, this.topology.cgroupDirRel), { recursive: true });
    for (const p of this.topology.pods) mkdirSync(this.podCgroup(p), { recursive: true });
  }

  private async startPodApps(): Promise<void> {
    this.progress('starting the sample HTTP (8080) and TCP echo (9000) app in every pod');
    const started = this.topology.pods.map((p) =>
      this.track(
        spawnIn({ netns: p.netns, cgroup: this.podCgroup(p) }, `app ${p.spec.name}`, [
          process.execPath,
          distScript('local-cluster/pod-app'),
          p.spec.name,
          p.netns,
        ]),
      ),
    );
    await Promise.all(started.map((proc) => proc.waitForLine(/^ready /, 15_000)));
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

  /** `ambit agent` in node i's netns; with the state file when `stateFile` is true. */
  async startAgent(i: number, o: { stateFile?: boolean; resyncMs?: number } = {}): Promise<ManagedProcess> {
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
    await proc.waitForLine(/first mesh state applied/, 30_000);
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

export { cleanupStale, leftovers } from './cleanup.js';
