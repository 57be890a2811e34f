// What the node itself needs for the mesh: the mesh address on `lo` (where the ztunnel listens
// and dials local pods from) and the list of the node's own addresses (probe sources). Set up on
// start, removed on uninstall; runs in whatever network namespace the agent was started in.
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { agentError } from './errors.js';

const execFileAsync = promisify(execFile);

async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args)).stdout;
  } catch (err) {
    throw agentError('AG_NODE_SETUP', `ip ${args.join(' ')} failed`, err);
  }
}

async function hasLoAddress(address: string): Promise<boolean> {
  const info = JSON.parse(await ip(['-j', 'addr', 'show', 'dev', 'lo'])) as {
    addr_info?: { local: string }[];
  }[];
  return info.some((l) => l.addr_info?.some((a) => a.local === address));
}

export async function addMeshAddress(address: string): Promise<boolean> {
  if (await hasLoAddress(address)) return false;
  await ip(['addr', 'add', `${address}/32`, 'dev', 'lo']);
  return true;
}

export async function removeMeshAddress(address: string): Promise<void> {
  if (await hasLoAddress(address)) await ip(['addr', 'del', `${address}/32`, 'dev', 'lo']);
}

/**
 * Addresses of this network namespace, without loopback, link-local IPv6 and the mesh address:
 * IPv4, and the IPv6 ones (probe sources for dual-stack pods, and where the ztunnel dials IPv6
 * pods from).
 */
export function nodeAddresses(meshAddress: string): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.address === meshAddress) continue;
      if (a.family === 'IPv4' || (a.family === 'IPv6' && !/^fe80:/i.test(a.address))) out.push(a.address);
    }
  }
  return out.sort();
}
