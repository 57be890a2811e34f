// SPIFFE identities of the mesh (DESIGN.md §2): workload `spiffe://<td>/ns/<ns>/sa/<sa>` and node
// `spiffe://<td>/ambit/node/<node>`. Pure string helpers; no certificates here.
export type SpiffeId =
  | { kind: 'workload'; trustDomain: string; namespace: string; serviceAccount: string; uri: string }
  | { kind: 'node'; trustDomain: string; node: string; uri: string };

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function workloadIdentity(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function nodeIdentity(trustDomain: string, node: string): string {
  return `spiffe://${trustDomain}/ambit/node/${node}`;
}

/** Parses a mesh SPIFFE URI; returns undefined for anything that is not one of the two mesh shapes. */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const [, trustDomain, rest] = /^spiffe:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
  if (trustDomain === undefined || rest === undefined || !DNS_LABEL.test(trustDomain)) return undefined;
  const parts = rest.split('/');
  if (parts.length === 4 && parts[0] === 'ns' && parts[2] === 'sa' && parts[1] && parts[3]) {
    return { kind: 'workload', trustDomain, namespace: parts[1], serviceAccount: parts[3], uri };
  }
  if (parts.length === 3 && parts[0] === 'ambit' && parts[1] === 'node' && parts[2]) {
    return { kind: 'node', trustDomain, node: parts[2], uri };
  }
  return undefined;
}

/**
 * The URI SANs of a peer certificate as Node's tls reports them (`subjectaltname`, e.g.
 * `URI:spiffe://td/ns/a/sa/b, DNS:x`). Values can be quoted when they hold commas.
 */
export function uriSans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  const out: string[] = [];
  const re = /(?:^|,\s*)URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(subjectaltname); m; m = re.exec(subjectaltname)) {
    const v = m[1];
    if (v === undefined) continue; // the group always takes part in a match
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/** The single SPIFFE identity a mesh certificate carries, or undefined when it has none or several. */
export function spiffeIdOfCert(subjectaltname: string | undefined): string | undefined {
  const spiffe = uriSans(subjectaltname).filter((u) => u.startsWith('spiffe://'));
  return spiffe.length === 1 ? spiffe[0] : undefined;
}
