// The AuthorizationPolicy matchers both enforcement points share (the ztunnel at L4, the waypoint
// at L7), with Istio's semantics: string patterns with a leading or trailing `*`, principals with
// or without the `spiffe://` scheme, and a rule's `from.source` (principals, namespaces, ip
// blocks and their negations). Pure.
import type { AuthzSource } from '../model/mesh.js';
import { parseSpiffeId } from '../identity/spiffe.js';
import { ipInBlock } from './cidr.js';

/** Istio's string match: exact, `*`, `prefix*` or `*suffix`; an absent value never matches. */
export function stringMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** Istio writes principals without the scheme (`cluster.local/ns/a/sa/b`); accept both. */
export function principalForm(p: string): string {
  return p.startsWith('spiffe://') ? p.slice('spiffe://'.length) : p;
}

/** What a peer's identity says about the source, read once per connection or request. */
export interface SourceFacts {
  /** The principal without the scheme. */
  principal?: string;
  /** The namespace of a workload identity. */
  namespace?: string;
}

export function sourceFacts(principal: string | undefined): SourceFacts {
  if (!principal) return {};
  const id = parseSpiffeId(principal);
  return {
    principal: principalForm(principal),
    ...(id?.kind === 'workload' ? { namespace: id.namespace } : {}),
  };
}

const some = (patterns: readonly string[], test: (p: string) => boolean): boolean => patterns.some(test);

/** A rule's source clause: every present field must match (Istio); `requestPrincipals` is the caller's. */
export function sourceMatches(s: AuthzSource, f: SourceFacts, sourceIp: string): boolean {
  const principal = (p: string) => stringMatch(principalForm(p), f.principal);
  const ns = (p: string) => stringMatch(p, f.namespace);
  const ip = (b: string) => ipInBlock(sourceIp, b);
  if (s.principals?.length && !some(s.principals, principal)) return false;
  if (s.notPrincipals?.length && some(s.notPrincipals, principal)) return false;
  if (s.namespaces?.length && !some(s.namespaces, ns)) return false;
  if (s.notNamespaces?.length && some(s.notNamespaces, ns)) return false;
  if (s.ipBlocks?.length && !some(s.ipBlocks, ip)) return false;
  if (s.notIpBlocks?.length && some(s.notIpBlocks, ip)) return false;
  if (s.remoteIpBlocks?.length && !some(s.remoteIpBlocks, ip)) return false;
  if (s.notRemoteIpBlocks?.length && some(s.notRemoteIpBlocks, ip)) return false;
  return true;
}
