// What a certificate the CA issued was issued under, recorded in its subject (signed, so a holder
// cannot change it) as OU attributes, so that a renewal presenting the certificate can be checked
// again against the token store and the mesh state:
//   OU=token:<id> | OU=token:admin   the bootstrap credential behind it (inherited by the workload
//                                    certificates a node obtains with its node certificate)
//   OU=node:<name>                   workload certificates: the node whose ztunnel obtained it
//   OU=waypoint:<ns>/<gateway>       a waypoint's own certificate
// Pure encoding and parsing; no policy here.

export interface CertificateBinding {
  /** The scoped token's id, or 'admin' for the operator's join token. */
  token?: string | undefined;
  node?: string | undefined;
  waypoint?: string | undefined;
}

export const ADMIN_BINDING = 'admin';

/** Subject DN for a leaf: `O=<td>` plus one OU per bound fact (values are already checked names). */
export function bindingSubject(trustDomain: string, b: CertificateBinding): string {
  const ous: string[] = [];
  if (b.token) ous.push(`OU=token:${b.token}`);
  if (b.node) ous.push(`OU=node:${b.node}`);
  if (b.waypoint) ous.push(`OU=waypoint:${b.waypoint}`);
  return [`O=${trustDomain}`, ...ous].join(', ');
}

/** Reads the binding back from a subject as Node's X509Certificate.subject prints it (one RDN a line). */
export function parseBinding(subject: string): CertificateBinding {
  const b: CertificateBinding = {};
  for (const line of subject.split('\n')) {
    const m = /^OU=(token|node|waypoint):(.+)$/.exec(line.trim());
    if (!m?.[1] || !m[2]) continue;
    const key = m[1] as 'token' | 'node' | 'waypoint';
    b[key] = m[2];
  }
  return b;
}
