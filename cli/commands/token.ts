// `ambit token create|list|revoke`: scoped bootstrap tokens (DESIGN.md §2, §8), managed through the
// controller with the operator's credential (the state dir's join-token). `create` prints only the
// token on stdout, so `ambit token create --node n1 > n1.token` is the whole provisioning step.
import type { Command } from 'commander';
import { checkOutput, quietGrpc } from '../controller-call.js';
import { cliError } from '../errors.js';
import { runAction } from '../run-action.js';
import { createToken, listTokens, revokeToken, type TokenTarget } from '../../core/identity/token-client.js';
import type { WireTokenInfo } from '../../core/identity/token-wire.js';
import { duration as durationSchema, durationToMs } from '../../core/model/resources/values.js';

interface Endpoint {
  controller: string;
  stateDir: string;
}

function scopeText(t: WireTokenInfo): string {
  return t.scope.node ? `node/${t.scope.node}` : `waypoint/${t.scope.waypoint}`;
}

function target(o: { node?: string; waypoint?: string }): TokenTarget {
  if ((o.node === undefined) === (o.waypoint === undefined)) {
    throw cliError('CLI_BAD_FLAG', 'give exactly one of --node NAME or --waypoint NS/GATEWAY');
  }
  return o.node !== undefined ? { node: o.node } : { waypoint: o.waypoint ?? '' };
}

function ttl(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = durationSchema.safeParse(v).success ? durationToMs(v) : 0;
  if (ms <= 0) throw cliError('CLI_BAD_FLAG', `--ttl: expected a duration like 1h, 30m, 720h; got ${v}`);
  return ms;
}

function withEndpoint(cmd: Command): Command {
  return cmd
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', "directory holding the trust root and the operator's join token", '.ambit/');
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description(
      'scoped bootstrap tokens: one per node or waypoint (the join token stays the operator credential)',
    );
  withEndpoint(
    token
      .command('create')
      .description('create a token bound to one node or waypoint and print it (shown once)')
      .option('--node <name>', 'the Node whose identity the token obtains')
      .option('--waypoint <ns/gateway>', 'the waypoint Gateway whose identity the token obtains')
      .option('--ttl <duration>', 'the token stops working after this long (default: until revoked)'),
  ).action(
    runAction(async (o: Endpoint & { node?: string; waypoint?: string; ttl?: string }) => {
      quietGrpc();
      const res = await createToken({ ...o, target: target(o), ttlMs: ttl(o.ttl) });
      process.stderr.write(
        `token ${res.info.id} for ${scopeText(res.info)}${res.info.expiresAt ? `, expires ${res.info.expiresAt}` : ''}\n`,
      );
      process.stdout.write(`${res.token}\n`);
    }),
  );
  withEndpoint(
    token
      .command('list')
      .description('list tokens: id, scope, created, expires, revoked (never the secret)')
      .option('-o, --output <format>', 'output format: text or json', 'text'),
  ).action(
    runAction(async (o: Endpoint & { output: string }) => {
      quietGrpc();
      checkOutput(o.output, ['text', 'json']);
      const tokens = await listTokens(o);
      if (o.output === 'json') {
        process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
        return;
      }
      const rows = [
        ['ID', 'SCOPE', 'CREATED', 'EXPIRES', 'REVOKED'],
        ...tokens.map((t) => [t.id, scopeText(t), t.createdAt, t.expiresAt || 'never', t.revokedAt || '-']),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const r of rows) {
        process.stdout.write(
          `${r
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd()}\n`,
        );
      }
    }),
  );
  withEndpoint(
    token
      .command('revoke <id>')
      .description('revoke a token: it obtains nothing new, and certificates issued under it stop renewing'),
  ).action(
    runAction(async (id: string, o: Endpoint) => {
      quietGrpc();
      const info = await revokeToken({ ...o, id });
      process.stdout.write(`token ${info.id} (${scopeText(info)}) revoked at ${info.revokedAt}\n`);
    }),
  );
}
