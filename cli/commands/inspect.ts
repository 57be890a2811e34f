// `ambit status`, `ambit config dump`, `ambit describe`: ask a running controller (join token from
// --state-dir) and print text/YAML, or JSON with -o json. Formatting only; the answers come from
// the controller and core/model/describe-workload.ts.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { checkOutput, quietGrpc } from '../controller-call.js';
import { cliError } from '../errors.js';
import { fetchConfigDump, fetchStatus } from '../../core/discovery/inspection-client.js';
import { formatConfigError } from '../../core/model/config-error.js';
import { describeWorkload } from '../../core/model/describe-workload.js';
import { runAction } from '../run-action.js';
import type { RouteStatus } from '../../controller/route-status.js';
import type { StatusCondition } from '../../controller/status-condition.js';
import type { WaypointStatus } from '../../controller/waypoint-status.js';

interface InspectFlags {
  controller: string;
  stateDir: string;
  output: string;
}

/** The JSON the controller sends in resourceStatus: the types it is built from (type-only imports). */
type ResourceStatusView = { routes?: RouteStatus[]; waypoints?: WaypointStatus[] };

/** `Type=Status (Reason)`, with the message whenever the reason is not the plain good one. */
function formatCondition(c: StatusCondition): string {
  return c.reason === c.type || !c.message
    ? `${c.type}=${c.status} (${c.reason})`
    : `${c.type}=${c.status} (${c.reason}: ${c.message})`;
}

function print(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

async function status(flags: InspectFlags): Promise<void> {
  quietGrpc();
  checkOutput(flags.output, ['text', 'json', 'yaml']);
  const s = await fetchStatus(flags);
  const out = {
    configVersion: s.configVersion,
    configSource: s.configSource,
    trustDomain: s.trustDomain,
    lastRejected: s.lastRejectedAt
      ? {
          at: s.lastRejectedAt,
          errors: s.lastRejectedErrors,
          messages: s.lastRejectedErrors.map(formatConfigError),
        }
      : null,
    subscribers: s.subscribers.map((x) => ({
      kind: x.subscriber.kind,
      node: x.subscriber.node || undefined,
      name: x.subscriber.name || undefined,
      connected: x.connected,
      peer: x.peer,
      connectedAt: x.connectedAt,
      disconnectedAt: x.disconnectedAt || undefined,
      lastSentVersion: x.lastSentVersion || undefined,
      lastAckedVersion: x.lastAckedVersion || undefined,
      lastAckAt: x.lastAckAt || undefined,
      lastNackVersion: x.lastNackVersion || undefined,
      lastNackError: x.lastNackError || undefined,
      lastNackAt: x.lastNackAt || undefined,
    })),
    resourceStatus: JSON.parse(s.resourceStatus.toString('utf8') || '{}') as unknown,
    watches: (s.watches ?? []).map((w) => ({
      kind: w.kind,
      state: w.state,
      objects: w.objects,
      resourceVersion: w.resourceVersion,
      lastEventAt: w.lastEventAt || undefined,
      restarts: w.restarts,
      lastRestartReason: w.lastRestartReason || undefined,
      lastError: w.lastError || undefined,
      relists: w.relists,
      lastRelistAt: w.lastRelistAt || undefined,
    })),
    leader: s.leader
      ? {
          holder: s.leader.holder || undefined,
          thisReplica: s.leader.thisReplica,
          replica: s.leader.identity,
        }
      : undefined,
  };
  if (flags.output === 'json') return print(JSON.stringify(out, null, 2));
  if (flags.output === 'yaml') return print(stringify(out));
  const lines = [
    `config version: ${out.configVersion}`,
    `config source:  ${out.configSource}`,
    `trust domain:   ${out.trustDomain}`,
  ];
  if (out.lastRejected && out.configSource.startsWith('kube:')) {
    // the Kubernetes store holds back only the bad objects (controller/kube/kube-config-store.ts)
    lines.push(
      `objects HELD BACK at ${out.lastRejected.at} (each keeps its last good version or is left out; the rest is current):`,
    );
    for (const m of out.lastRejected.messages) lines.push(`  ${m}`);
  } else if (out.lastRejected) {
    lines.push(`last change REJECTED at ${out.lastRejected.at} (the previous config stays in force):`);
    for (const m of out.lastRejected.messages) lines.push(`  ${m}`);
  } else lines.push('last change: accepted');
  if (out.leader) {
    lines.push(
      `leader:         ${out.leader.holder ?? 'none (no replica holds the Lease)'}${out.leader.thisReplica ? ' (this replica)' : ` (this replica: ${out.leader.replica})`}`,
    );
  }
  if (out.watches.length > 0) {
    lines.push(`watches (${out.watches.length} kinds):`);
    const width = Math.max(...out.watches.map((w) => w.kind.length));
    for (const w of out.watches) {
      const restarts = w.restarts
        ? `${w.restarts} restart${w.restarts === 1 ? '' : 's'} (last: ${w.lastRestartReason ?? '?'}${w.lastError ? `: ${w.lastError}` : ''})`
        : 'no restarts';
      lines.push(
        `  ${w.kind.padEnd(width)} ${w.state.padEnd(9)} ${w.objects} object${w.objects === 1 ? '' : 's'}, last event ${w.lastEventAt ?? 'none yet'}, ${restarts}`,
      );
    }
  }
  const rs = out.resourceStatus as ResourceStatusView;
  const routes = rs.routes ?? [];
  lines.push(`routes (${routes.length}):`);
  for (const r of routes) {
    if (!r.parents.length)
      lines.push(`  ${r.kind} ${r.namespace}/${r.name}: no parentRefs (attached to nothing)`);
    for (const p of r.parents) {
      const parent = `${p.parentRef.kind} ${p.parentRef.namespace}/${p.parentRef.name}${p.parentRef.port ? `:${p.parentRef.port}` : ''}`;
      lines.push(
        `  ${r.kind} ${r.namespace}/${r.name} -> ${parent}: ${p.conditions.map(formatCondition).join(', ')}`,
      );
    }
  }
  const waypoints = rs.waypoints ?? [];
  lines.push(`waypoints (${waypoints.length}):`);
  for (const w of waypoints) {
    lines.push(
      `  ${w.namespace}/${w.name}: ${w.readyInstances}/${w.instances} instances ready; ${w.conditions.map(formatCondition).join(', ')}; ${w.ackedInstances}/${w.subscribedInstances} subscribed instances ACKed`,
    );
  }
  lines.push(`subscribers (${out.subscribers.length}):`);
  for (const x of out.subscribers) {
    const who = x.kind === 'waypoint' ? `waypoint ${x.name}` : `${x.kind} ${x.node}`;
    const ack = x.lastAckedVersion ? `ACK ${x.lastAckedVersion} at ${x.lastAckAt}` : 'no ACK yet';
    const nack = x.lastNackVersion
      ? `; NACK ${x.lastNackVersion} at ${x.lastNackAt}: ${x.lastNackError}`
      : '';
    lines.push(`  ${who} [${x.connected ? 'connected' : `disconnected ${x.disconnectedAt}`}] ${ack}${nack}`);
  }
  print(lines.join('\n'));
}

async function configDump(flags: InspectFlags): Promise<void> {
  quietGrpc();
  checkOutput(flags.output, ['yaml', 'json']);
  const d = await fetchConfigDump(flags);
  const out = { version: d.version, state: d.state };
  print(flags.output === 'json' ? JSON.stringify(out, null, 2) : stringify(out));
}

async function describe(pod: string, flags: InspectFlags): Promise<void> {
  quietGrpc();
  checkOutput(flags.output, ['text', 'json', 'yaml']);
  const [, namespace, name] = /^([^/]+)\/([^/]+)$/.exec(pod) ?? [];
  if (namespace === undefined || name === undefined)
    throw cliError('CLI_BAD_ARGUMENT', `"${pod}" is not <namespace>/<pod>`);
  const d = await fetchConfigDump(flags);
  const desc = describeWorkload(d.state, namespace, name);
  if (!desc) throw cliError('CLI_NOT_FOUND', `pod ${pod} is not in the mesh state (version ${d.version})`);
  if (flags.output === 'json') return print(JSON.stringify(desc, null, 2));
  if (flags.output === 'yaml') return print(stringify(desc));
  const wp = (r?: { namespace: string; name: string }) => (r ? `${r.namespace}/${r.name}` : 'none');
  const lines = [
    `pod:        ${pod}`,
    `identity:   ${desc.identity}`,
    `node:       ${desc.node || '(not scheduled)'}`,
    `ips:        ${desc.ips.join(', ') || '(none)'}`,
    `enrolled:   ${desc.enrolled ? 'yes (ambient)' : 'no'}`,
    `ready:      ${desc.workload.ready}${desc.workload.terminating ? ' (terminating)' : ''}`,
    `waypoint:   ${wp(desc.waypoint)}`,
    `mTLS mode:  ${desc.mtlsMode}`,
    `services (${desc.services.length}):`,
    ...desc.services.map(
      (s) =>
        `  ${s.namespace}/${s.name} vips=${s.vips.join(',') || '-'} ready=${s.ready} waypoint=${wp(s.waypoint)}`,
    ),
    `authorization policies (${desc.policies.length}):`,
    ...desc.policies.map(
      (p) => `  ${p.namespace}/${p.name} ${p.action} via ${p.via}, enforced by ${p.enforcedBy}`,
    ),
  ];
  print(lines.join('\n'));
}

export function registerInspect(program: Command): void {
  program
    .command('status')
    .description('config version, last rejected change, subscribers and their last ACK/NACK')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: text, yaml or json', 'text')
    .action(runAction((flags: InspectFlags) => status(flags)));
  const config = program.command('config').description('inspect the mesh configuration');
  config
    .command('dump')
    .description('print the computed mesh state (YAML, or JSON with -o json)')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: yaml or json', 'yaml')
    .action(runAction((flags: InspectFlags) => configDump(flags)));
  program
    .command('describe <pod>')
    .description('show how the mesh sees one pod (<namespace>/<name>)')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: text, yaml or json', 'text')
    .action(runAction((pod: string, flags: InspectFlags) => describe(pod, flags)));
}
