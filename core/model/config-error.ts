// One validation problem, located: file (relative to the config root), 1-based document index,
// resource (`Kind ns/name`), field path and message. format() gives the one-line form operators
// read, e.g. `shop.yaml doc 2 Service shop/cart: spec.ports[0].port: must be 1-65535`.
export interface ConfigError {
  file: string;
  document: number;
  /** `Kind namespace/name`, `Kind name` for cluster-scoped kinds; empty when the document has no kind. */
  resource: string;
  /** e.g. spec.ports[0].port; empty for the whole document. */
  field: string;
  message: string;
}

export function formatConfigError(e: ConfigError): string {
  const where = [e.file, e.document > 0 ? `doc ${e.document}` : '', e.resource].filter(Boolean).join(' ');
  return `${where}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
}

/** Formats a zod-style path: ['spec','ports',0,'port'] -> spec.ports[0].port; odd keys are quoted. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}
