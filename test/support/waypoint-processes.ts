// Test and bench helper: runs a real `ambit waypoint` process (node dist/cli/main.js) against a
// real controller (./controller-harness.ts) with its own scoped token, and waits until 15021 says
// ready. The mesh YAML (the Gateway, its pod with podIP = address) is the caller's.
//
//   const wp = await startWaypointProcess(ctl, { name: 'shop/wp', address: '127.0.70.20' });
//   wp.child.pid; await wp.stop()
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createToken } from '../../core/identity/token-client.js';
import { repoRoot } from '../../local-cluster/repo-root.js';
import type { ControllerHarness } from './controller-harness.js';
import { watchComponent, type ComponentProcess } from './ztunnel-process.js';

type ControllerAddress = Pick<ControllerHarness, 'address' | 'stateDir'>;

export type WaypointProcess = ComponentProcess;

/**
 * A token bound to the waypoint `<ns>/<gateway>` (`ambit token create --waypoint`), created with
 * the operator's join token and written to <stateDir>/waypoint-<ns>-<gateway>.token (0600).
 */
export async function waypointTokenFile(ctl: ControllerAddress, name: string): Promise<string> {
  const { token } = await createToken({
    controller: ctl.address,
    stateDir: ctl.stateDir,
    target: { waypoint: name },
  });
  const file = path.join(ctl.stateDir, `waypoint-${name.replace('/', '-')}.token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

export async function startWaypointProcess(
  ctl: ControllerAddress,
  o: {
    /** <namespace>/<gateway> */
    name: string;
    /** The waypoint pod's IP: 15008, 15021 and 15090 listen there. */
    address: string;
    logLevel?: string | undefined;
    extraArgs?: string[] | undefined;
    /** Extra node flags (e.g. --cpu-prof). */
    nodeArgs?: string[] | undefined;
    env?: Record<string, string> | undefined;
    readyTimeoutMs?: number | undefined;
  },
): Promise<WaypointProcess> {
  const args = [
    ...(o.nodeArgs ?? []),
    path.join(repoRoot(), 'dist/cli/main.js'),
    'waypoint',
    '--name',
    o.name,
    '--controller',
    ctl.address,
    '--state-dir',
    ctl.stateDir,
    '--token-file',
    await waypointTokenFile(ctl, o.name),
    '--address',
    o.address,
    '--log-level',
    o.logLevel ?? 'info',
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  return watchComponent(child, `ambit waypoint ${o.name}`, o.address, o.readyTimeoutMs);
}
