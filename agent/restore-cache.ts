// The agent's restore cache: what it last enrolled on its node (pod cgroups, pod policy entries,
// mesh destinations), kept in <state-dir>/agent-<node>.restore.json so that after a node reboot
// (bpffs and every attachment gone) it re-attaches capture from the cache before the controller
// answers (Istio #53843, #55968). Written atomically (temp file, fsync, rename, fsync of the
// directory) with mode 0600; read back strictly: a cache that does not parse, names another
// node, or holds a cgroup outside the cgroup root is refused whole (logged; the agent then
// waits for the controller as before). Removed by `ambit agent --uninstall`.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { decodeJson } from '../core/model/decode-json.js';
import { isIpv4 } from '../core/bpf-maps/ipv4.js';
import { isIpv6 } from '../core/bpf-maps/ipv6.js';
import { resolveCgroupPath } from './cgroup-path.js';
import { agentError } from './errors.js';
import { dstId, parseDstId, type DesiredKernelState } from './reconcile.js';

const FORMAT = 1;

const cacheSchema = z.object({
  format: z.literal(FORMAT),
  node: z.string().min(1),
  /** [absolute pod cgroup, `<ns>/<name>`] */
  attachments: z.array(z.tuple([z.string().min(1), z.string()])),
  /** [pod ip, mode] */
  podPolicy: z.array(z.tuple([z.string(), z.enum(['STRICT', 'PERMISSIVE'])])),
  /** [`ip:port`, kind] */
  meshDst: z.array(z.tuple([z.string(), z.enum(['workload', 'service'])])),
});

/** Node names are DNS subdomains; anything else must not become part of a file name. */
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export function restoreCachePath(stateDir: string, node: string): string {
  if (!NODE_NAME.test(node))
    throw agentError('AG_RESTORE_CACHE', `node name ${JSON.stringify(node)} is not a DNS subdomain`);
  return path.join(stateDir, `agent-${node}.restore.json`);
}

/** The cache file's text for a desired state (sorted, so equal states give equal text). */
export function encodeRestoreCache(node: string, d: DesiredKernelState): string {
  const sorted = <V>(m: ReadonlyMap<string, V>): [string, V][] =>
    [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify({
    format: FORMAT,
    node,
    attachments: sorted(d.attachments),
    podPolicy: sorted(d.podPolicy),
    meshDst: sorted(d.meshDst),
  })}\n`;
}

export type RestoreCacheDecoding = { ok: true; desired: DesiredKernelState } | { ok: false; error: string };

/** Parses and checks a cache file's text; every problem found is named. */
export function decodeRestoreCache(text: string, node: string, cgroupRoot: string): RestoreCacheDecoding {
  const parsed = decodeJson(cacheSchema, text, '(file)');
  if (!parsed.ok) return parsed;
  const c = parsed.value;
  const errors: string[] = [];
  if (c.node !== node) errors.push(`written for node ${c.node}, not ${node}`);
  for (const [cgroup] of c.attachments) {
    let resolved: string | undefined;
    try {
      resolved = resolveCgroupPath(cgroup, cgroupRoot);
    } catch {
      resolved = undefined;
    }
    if (resolved !== cgroup) errors.push(`attachments: ${cgroup} is not a cgroup under ${cgroupRoot}`);
  }
  for (const [ip] of c.podPolicy)
    if (!isIpv4(ip) && !isIpv6(ip)) errors.push(`podPolicy: ${ip} is not an IP address`);
  for (const [id] of c.meshDst) {
    const { ip, port } = parseDstId(id);
    if (
      !(isIpv4(ip) || isIpv6(ip)) ||
      !Number.isInteger(port) ||
      port < 0 ||
      port > 65535 ||
      dstId(ip, port) !== id
    )
      errors.push(`meshDst: ${id} is not ip:port`);
  }
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  return {
    ok: true,
    desired: {
      attachments: new Map(c.attachments),
      podPolicy: new Map(c.podPolicy),
      meshDst: new Map(c.meshDst),
    },
  };
}

export type RestoreCacheLoad =
  { kind: 'none' } | { kind: 'loaded'; desired: DesiredKernelState } | { kind: 'refused'; error: string };

/** One node's restore cache file. */
export class RestoreCache {
  readonly file: string;
  /** text last written or read, to skip writing an unchanged state on every resync */
  private last?: string | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly node: string,
  ) {
    this.file = restoreCachePath(stateDir, node);
  }

  load(cgroupRoot: string): RestoreCacheLoad {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'refused', error: `cannot read ${this.file}: ${(err as Error).message}` };
    }
    const d = decodeRestoreCache(text, this.node, cgroupRoot);
    if (!d.ok) return { kind: 'refused', error: `${this.file}: ${d.error}` };
    this.last = text;
    return { kind: 'loaded', desired: d.desired };
  }

  /** Writes the state unless it is what the file already holds; true when it wrote. */
  save(desired: DesiredKernelState): boolean {
    const text = encodeRestoreCache(this.node, desired);
    if (text === this.last) return false;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      rmSync(tmp, { force: true }); // a crash may have left one; 'wx' then creates it with 0600
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      const dir = openSync(this.stateDir, 'r');
      try {
        fsyncSync(dir); // the rename itself must survive a power cut, the case this file is for
      } finally {
        closeSync(dir);
      }
    } catch (err) {
      rmSync(tmp, { force: true });
      throw agentError('AG_RESTORE_CACHE', `cannot write the restore cache ${this.file}`, err);
    }
    this.last = text;
    return true;
  }

  remove(): void {
    rmSync(this.file, { force: true });
    this.last = undefined;
  }
}
