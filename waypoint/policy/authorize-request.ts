// L7 AuthorizationPolicy evaluation at the waypoint (DESIGN §6, issue 9 §5), with Istio's
// semantics: only policies enforced by the waypoint whose targetRefs name this waypoint's Gateway
// (or the GatewayClass, from the root namespace) or the destination Service apply; CUSTOM and
// AUDIT are ignored; any matching DENY rule denies; then, if any ALLOW policy applies, one of its
// rules must match. Pure: it decides, the proxy answers 403.
//
// What cannot match here, on purpose: the waypoint verifies no JWT, so `requestPrincipals` and
// every `request.auth.*` condition never match (a DENY rule using them denies nothing, an ALLOW
// rule using them allows nothing; `notRequestPrincipals` always holds). HBONE carries no SNI, so
// `connection.sni` never matches. `remoteIpBlocks` and `remote.ip` use the source address: no
// X-Forwarded-For is trusted. Unknown `when` keys never match.
import {
  ROOT_NAMESPACE,
  type AuthzCondition,
  type AuthzOperation,
  type AuthzSource,
  type AuthzRule,
  type MeshAuthorizationPolicy,
} from '../../core/model/mesh.js';
import { ipInBlock } from '../../core/policy/cidr.js';
// Envoy presents repeated headers to RBAC joined with ',', as routing reads them (names lower-case, as node:http gives them)
import { headerValue } from '../routing/l7-request.js';
import {
  principalForm,
  sourceFacts,
  sourceMatches as sourceClauseMatches,
  stringMatch,
  type SourceFacts,
} from '../../core/policy/authz-match.js';

export interface L7AuthzRequest {
  /** The client's SPIFFE ID from the HBONE peer certificate (spiffe://td/ns/x/sa/y); undefined when unknown. */
  principal?: string | undefined;
  sourceIp: string;
  method: string;
  /** The request target as received (query string and fragment are ignored for matching). */
  path: string;
  /** Host header / :authority, with or without port. */
  host: string;
  /** The destination (Service) port the client dialled. */
  port: number;
  headers: Record<string, string | string[] | undefined>;
  /** For `when: destination.ip`: the address the client dialled (a VIP or pod IP); absent never matches. */
  destinationIp?: string | undefined;
}

export interface L7AuthzTarget {
  gateway: { namespace: string; name: string };
  service?: { namespace: string; name: string } | undefined;
}

export type L7AuthzResult =
  | { kind: 'allow'; policy?: string }
  | { kind: 'deny'; policy: string; reason: 'deny-policy' | 'no-allow-match' };

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const WAYPOINT_CLASS = 'ambit-waypoint';

/** Whether `p` is enforced by this waypoint for this destination. */
export function appliesToRequest(p: MeshAuthorizationPolicy, t: L7AuthzTarget): boolean {
  if (p.enforcedBy !== 'waypoint' || p.scope.kind !== 'targetRefs') return false;
  return p.scope.targetRefs.some((ref) => {
    if (ref.group === GATEWAY_GROUP && ref.kind === 'Gateway')
      return p.namespace === t.gateway.namespace && ref.name === t.gateway.name;
    // Istio honours a GatewayClass target only from the root namespace: every waypoint of the class.
    if (ref.group === GATEWAY_GROUP && ref.kind === 'GatewayClass')
      return p.namespace === ROOT_NAMESPACE && ref.name === WAYPOINT_CLASS;
    if ((ref.group === '' || ref.group === 'core') && ref.kind === 'Service')
      return t.service !== undefined && p.namespace === t.service.namespace && ref.name === t.service.name;
    return false;
  });
}

/**
 * The path as policies see it: no query string or fragment, dot segments removed the way a URL
 * parser does (so `/public/../admin` is `/admin`, as the backend will read it). Absolute-form
 * targets give their path; `*` (OPTIONS) stays as is.
 */
export function authzPath(target: string): string {
  const cut = target.search(/[?#]/);
  const raw = cut < 0 ? target : target.slice(0, cut);
  try {
    if (raw.startsWith('/')) return new URL(`http://h${raw}`).pathname;
    if (/^https?:\/\//i.test(raw)) return new URL(raw).pathname;
  } catch {
    /* not a URL: match it as sent */
  }
  return raw;
}

/** Istio path patterns: exact, `prefix*`, `*suffix`, `*`, and the `{*}` / `{**}` templates. */
export function pathMatch(pattern: string, path: string): boolean {
  if (!pattern.includes('{*')) return stringMatch(pattern, path);
  const re = templateCache.get(pattern) ?? compileTemplate(pattern);
  return re.test(path);
}

const templateCache = new Map<string, RegExp>();
function compileTemplate(pattern: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = pattern
    .split('/')
    .map((seg) => (seg === '{**}' ? '.*' : seg === '{*}' ? '[^/]+' : esc(seg)))
    .join('/');
  const re = new RegExp(`^${body}$`);
  if (templateCache.size < 1000) templateCache.set(pattern, re);
  return re;
}

/** Hosts match case-insensitively, against the host as sent and without its port. */
function hostMatch(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (stringMatch(p, h)) return true;
  const bare = /^(\[[^\]]*\]|[^:]*):\d+$/.exec(h)?.[1];
  return bare !== undefined && stringMatch(p, bare);
}

const some = (patterns: readonly string[], test: (p: string) => boolean): boolean => patterns.some(test);

function sourceMatches(s: AuthzSource, r: L7AuthzRequest, f: SourceFacts): boolean {
  // No JWT is verified: there is never a request principal.
  if (s.requestPrincipals?.length) return false;
  return sourceClauseMatches(s, f, r.sourceIp);
}

function operationMatches(o: AuthzOperation, r: L7AuthzRequest, path: string): boolean {
  const port = String(r.port);
  const host = (p: string) => hostMatch(p, r.host);
  const method = (p: string) => stringMatch(p, r.method);
  const inPath = (p: string) => pathMatch(p, path);
  if (o.hosts?.length && !some(o.hosts, host)) return false;
  if (o.notHosts?.length && some(o.notHosts, host)) return false;
  if (o.ports?.length && !o.ports.includes(port)) return false;
  if (o.notPorts?.length && o.notPorts.includes(port)) return false;
  if (o.methods?.length && !some(o.methods, method)) return false;
  if (o.notMethods?.length && some(o.notMethods, method)) return false;
  if (o.paths?.length && !some(o.paths, inPath)) return false;
  if (o.notPaths?.length && some(o.notPaths, inPath)) return false;
  return true;
}

const HEADER_KEY = /^request\.headers\[(.+)\]$/;

function conditionMatches(c: AuthzCondition, r: L7AuthzRequest, f: SourceFacts): boolean {
  const header = HEADER_KEY.exec(c.key)?.[1];
  const test = (v: string): boolean => {
    if (header !== undefined) return stringMatch(v, headerValue(r.headers, header));
    switch (c.key) {
      case 'source.ip':
      case 'remote.ip':
        return ipInBlock(r.sourceIp, v);
      case 'destination.ip':
        return r.destinationIp !== undefined && ipInBlock(r.destinationIp, v);
      case 'source.namespace':
        return stringMatch(v, f.namespace);
      case 'source.principal':
        return stringMatch(principalForm(v), f.principal);
      case 'destination.port':
        return v === String(r.port);
      default:
        // request.auth.* (no JWT), connection.sni (no SNI in HBONE), experimental.*, unknown keys
        return false;
    }
  };
  if (c.values?.length && !c.values.some(test)) return false;
  if (c.notValues?.length && c.notValues.some(test)) return false;
  return true;
}

/** A rule matches when every present clause matches (from: any source; to: any operation; when: all). */
export function requestRuleMatches(rule: AuthzRule, r: L7AuthzRequest): boolean {
  return ruleMatchesWith(rule, r, sourceFacts(r.principal), authzPath(r.path));
}

function ruleMatchesWith(rule: AuthzRule, r: L7AuthzRequest, f: SourceFacts, path: string): boolean {
  if (rule.from?.length && !rule.from.some((x) => sourceMatches(x.source, r, f))) return false;
  if (rule.to?.length && !rule.to.some((x) => operationMatches(x.operation, r, path))) return false;
  if (rule.when?.length && !rule.when.every((c) => conditionMatches(c, r, f))) return false;
  return true;
}

function key(p: MeshAuthorizationPolicy): string {
  return `${p.namespace}/${p.name}`;
}

export function authorizeRequest(
  policies: readonly MeshAuthorizationPolicy[],
  target: L7AuthzTarget,
  r: L7AuthzRequest,
): L7AuthzResult {
  const applicable = policies
    .filter((p) => appliesToRequest(p, target))
    .sort((a, b) => key(a).localeCompare(key(b)));
  if (applicable.length === 0) return { kind: 'allow' };
  const facts = sourceFacts(r.principal);
  const path = authzPath(r.path);
  const matches = (p: MeshAuthorizationPolicy) =>
    p.rules.some((rule) => ruleMatchesWith(rule, r, facts, path));
  for (const p of applicable) {
    if (p.action === 'DENY' && matches(p)) return { kind: 'deny', policy: key(p), reason: 'deny-policy' };
  }
  const allows = applicable.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0) return { kind: 'allow' };
  for (const p of allows) if (matches(p)) return { kind: 'allow', policy: key(p) };
  return { kind: 'deny', policy: allows.map(key).join(','), reason: 'no-allow-match' };
}
