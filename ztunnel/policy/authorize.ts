// L4 AuthorizationPolicy evaluation at the destination ztunnel, with Istio's semantics: only
// policies enforced by the ztunnel that select the destination workload apply; CUSTOM and AUDIT
// are ignored; any matching DENY rule denies; then, if any ALLOW policy applies, one of its rules
// must match. A rule that uses an L7 attribute (methods, paths, hosts, requestPrincipals, other
// `when` keys) cannot be checked here: it becomes a DENY rule on what is left of it at L4 (its
// principals, namespaces, ip blocks, ports and L4 `when` keys), in an ALLOW policy as in a DENY
// one (DESIGN §6, fail closed). In an ALLOW policy it also allows nothing, so the policy still
// restricts everyone its L4 rules do not admit. Pure.
import {
  ROOT_NAMESPACE,
  type AuthzCondition,
  type AuthzOperation,
  type AuthzRule,
  type AuthzSource,
  type MeshAuthorizationPolicy,
  type Workload,
} from '../../core/model/mesh.js';
import { parseSpiffeId } from '../../core/identity/spiffe.js';
import { ipInBlock } from '../../core/policy/cidr.js';
import {
  principalForm,
  sourceFacts,
  sourceMatches as sourceClauseMatches,
  stringMatch,
} from '../../core/policy/authz-match.js';

export interface AuthorizationRequest {
  destination: Pick<Workload, 'namespace' | 'labels'>;
  destinationIp: string;
  destinationPort: number;
  /** The peer's SPIFFE ID from its certificate; undefined for plaintext (15006). */
  sourcePrincipal?: string | undefined;
  /** See inbound/source-address.ts for which address this is. */
  sourceIp: string;
}

export type AuthorizationResult =
  | { kind: 'allow'; policy?: string }
  | { kind: 'deny'; policy: string; reason: 'deny-policy' | 'no-allow-match' | 'l7-rule-at-ztunnel' };

const L4_WHEN_KEYS = new Set([
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
]);

export function appliesTo(p: MeshAuthorizationPolicy, w: Pick<Workload, 'namespace' | 'labels'>): boolean {
  if (p.enforcedBy !== 'ztunnel') return false;
  const meshWide = p.meshWide || p.namespace === ROOT_NAMESPACE;
  if (!meshWide && p.namespace !== w.namespace) return false;
  switch (p.scope.kind) {
    case 'namespace':
      return true;
    case 'selector':
      return Object.entries(p.scope.matchLabels).every(([k, v]) => w.labels[k] === v);
    case 'targetRefs':
      return false;
    default: {
      const never: never = p.scope;
      throw new Error(`unknown scope ${JSON.stringify(never)}`);
    }
  }
}

/** Istio string match: exact, `*`, `prefix*`, `*suffix`. */
function hasL7(rule: AuthzRule): boolean {
  const src = (rule.from ?? []).some(
    (f) => (f.source.requestPrincipals?.length ?? 0) > 0 || (f.source.notRequestPrincipals?.length ?? 0) > 0,
  );
  const op = (rule.to ?? []).some((t) => {
    const o = t.operation;
    return [o.hosts, o.notHosts, o.methods, o.notMethods, o.paths, o.notPaths].some(
      (l) => (l?.length ?? 0) > 0,
    );
  });
  const when = (rule.when ?? []).some((c) => !L4_WHEN_KEYS.has(c.key));
  return src || op || when;
}

/** What an L4 proxy can check of a rule: the rule with its L7 attributes removed. */
function l4Part(rule: AuthzRule): AuthzRule {
  const out: AuthzRule = {};
  if (rule.from?.length)
    out.from = rule.from.map(({ source }) => {
      const l4 = { ...source };
      delete l4.requestPrincipals;
      delete l4.notRequestPrincipals;
      return { source: l4 };
    });
  if (rule.to?.length)
    out.to = rule.to.map(({ operation }) => ({
      operation: {
        ...(operation.ports ? { ports: operation.ports } : {}),
        ...(operation.notPorts ? { notPorts: operation.notPorts } : {}),
      },
    }));
  if (rule.when?.length) out.when = rule.when.filter((c) => L4_WHEN_KEYS.has(c.key));
  return out;
}

/** A policy's rules as the ztunnel uses them: L4-only rules, and the L4 part of each L7 rule. */
interface SplitRules {
  l4: AuthzRule[];
  l7AsDeny: AuthzRule[];
}

/** Split once per policy object (policies are immutable parts of a snapshot), not per connection. */
const splitCache = new WeakMap<MeshAuthorizationPolicy, SplitRules>();
function split(p: MeshAuthorizationPolicy): SplitRules {
  let s = splitCache.get(p);
  if (!s) {
    s = { l4: p.rules.filter((r) => !hasL7(r)), l7AsDeny: p.rules.filter(hasL7).map(l4Part) };
    splitCache.set(p, s);
  }
  return s;
}

function sourceMatches(s: AuthzSource, r: AuthorizationRequest): boolean {
  return sourceClauseMatches(s, sourceFacts(r.sourcePrincipal), r.sourceIp);
}

function operationMatches(o: AuthzOperation, r: AuthorizationRequest): boolean {
  const port = String(r.destinationPort);
  if (o.ports?.length && !o.ports.includes(port)) return false;
  if (o.notPorts?.length && o.notPorts.includes(port)) return false;
  return true;
}

function conditionMatches(c: AuthzCondition, r: AuthorizationRequest): boolean {
  const id = r.sourcePrincipal ? parseSpiffeId(r.sourcePrincipal) : undefined;
  const test = (v: string): boolean => {
    switch (c.key) {
      case 'source.ip':
      case 'remote.ip':
        return ipInBlock(r.sourceIp, v);
      case 'destination.ip':
        return ipInBlock(r.destinationIp, v);
      case 'source.namespace':
        return stringMatch(v, id?.kind === 'workload' ? id.namespace : undefined);
      case 'source.principal':
        return stringMatch(principalForm(v), r.sourcePrincipal && principalForm(r.sourcePrincipal));
      case 'destination.port':
        return v === String(r.destinationPort);
      default:
        return false;
    }
  };
  if (c.values?.length && !c.values.some(test)) return false;
  if (c.notValues?.length && c.notValues.some(test)) return false;
  return true;
}

/** An L4-only rule matches when every present clause matches (from: any source; to: any operation; when: all). */
export function ruleMatches(rule: AuthzRule, r: AuthorizationRequest): boolean {
  if (rule.from?.length && !rule.from.some((f) => sourceMatches(f.source, r))) return false;
  if (rule.to?.length && !rule.to.some((t) => operationMatches(t.operation, r))) return false;
  if (rule.when?.length && !rule.when.every((c) => conditionMatches(c, r))) return false;
  return true;
}

function key(p: MeshAuthorizationPolicy): string {
  return `${p.namespace}/${p.name}`;
}

export function authorize(
  policies: readonly MeshAuthorizationPolicy[],
  r: AuthorizationRequest,
): AuthorizationResult {
  const applicable = policies
    .filter((p) => appliesTo(p, r.destination))
    .sort((a, b) => key(a).localeCompare(key(b)));
  // Fail closed first: an L7 rule of an applicable ALLOW or DENY policy is a DENY rule on its L4 part.
  for (const p of applicable) {
    if (p.action !== 'ALLOW' && p.action !== 'DENY') continue;
    if (split(p).l7AsDeny.some((rule) => ruleMatches(rule, r))) {
      return { kind: 'deny', policy: key(p), reason: 'l7-rule-at-ztunnel' };
    }
  }
  for (const p of applicable) {
    if (p.action === 'DENY' && split(p).l4.some((rule) => ruleMatches(rule, r))) {
      return { kind: 'deny', policy: key(p), reason: 'deny-policy' };
    }
  }
  const allows = applicable.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0) return { kind: 'allow' };
  for (const p of allows) {
    if (split(p).l4.some((rule) => ruleMatches(rule, r))) return { kind: 'allow', policy: key(p) };
  }
  return { kind: 'deny', policy: allows.map(key).join(','), reason: 'no-allow-match' };
}
