// What a scoped bootstrap token may obtain (DESIGN.md §2): one node's identity or one waypoint's.
// Pure parsing and naming of scopes and of the names they bind; no storage, no gRPC here.

export type TokenScope = { kind: 'node'; node: string } | { kind: 'waypoint'; waypoint: string };

/** A Kubernetes object name (DNS subdomain): no spaces, commas, slashes or upper case. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A namespace or Gateway name (DNS label). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isValidNodeName(name: string): boolean {
  return DNS_SUBDOMAIN.test(name);
}

/** `<namespace>/<gateway>` with both parts DNS labels. */
export function isValidWaypointName(name: string): boolean {
  const parts = name.split('/');
  return parts.length === 2 && parts.every((p) => DNS_LABEL.test(p));
}

/** The scope as `ambit token list` prints it: `node/<name>` or `waypoint/<ns>/<gateway>`. */
export function scopeLabel(scope: TokenScope): string {
  return scope.kind === 'node' ? `node/${scope.node}` : `waypoint/${scope.waypoint}`;
}

/** Checks a scope's name; returns why it is not usable, or undefined. */
export function scopeProblem(scope: TokenScope): string | undefined {
  switch (scope.kind) {
    case 'node':
      return isValidNodeName(scope.node)
        ? undefined
        : `node name ${JSON.stringify(scope.node)} is not a valid Node name (lower-case DNS subdomain)`;
    case 'waypoint':
      return isValidWaypointName(scope.waypoint)
        ? undefined
        : `waypoint ${JSON.stringify(scope.waypoint)} is not <namespace>/<gateway> (DNS labels)`;
    default: {
      const never: never = scope;
      return `unknown token scope ${JSON.stringify(never)}`;
    }
  }
}
