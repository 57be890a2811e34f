// Validates a whole set of manifests: YAML syntax, kind/apiVersion, every field against its zod
// schema, then cross-resource references (validate-references.ts). Collects EVERY error, each
// naming file, document, resource and field; only a fully valid set yields resources.
import {
  RESOURCE_KINDS,
  isResourceKind,
  type ResourceKind,
  type ResourcesByKind,
} from './resources/resource-kinds.js';
import { formatFieldPath, type ConfigError } from './config-error.js';
import { parseManifests, type ManifestFile, type RawDocument } from './parse-manifests.js';
import { zodIssueMessage } from './zod-issue-message.js';
import { checkReferences } from './validate-references.js';

export type ConfigResources = { [K in ResourceKind]: ResourcesByKind[K][] };

/** A structurally valid resource with where it came from. */
export interface LocatedResource<K extends ResourceKind = ResourceKind> {
  kind: K;
  /** Set for namespaced kinds (defaulted to "default"). */
  namespace?: string | undefined;
  name: string;
  file: string;
  document: number;
  object: ResourcesByKind[K];
}

export type ConfigValidation =
  { valid: true; result: ConfigResources } | { valid: false; errors: ConfigError[] };

export function emptyConfig(): ConfigResources {
  const out = {} as Record<ResourceKind, unknown[]>;
  for (const k of Object.keys(RESOURCE_KINDS) as ResourceKind[]) out[k] = [];
  return out as ConfigResources;
}

export function resourceLabel(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name ?? '<unnamed>'}`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function validateDocument(d: RawDocument, errors: ConfigError[], out: LocatedResource[]): void {
  const at = { file: d.file, document: d.document };
  if (typeof d.value !== 'object' || d.value === null || Array.isArray(d.value)) {
    errors.push({
      ...at,
      resource: '',
      field: '',
      message: 'document must be a mapping with apiVersion, kind and metadata',
    });
    return;
  }
  const raw = d.value as Record<string, unknown>;
  const meta = (typeof raw.metadata === 'object' && raw.metadata !== null ? raw.metadata : {}) as Record<
    string,
    unknown
  >;
  const kind = raw.kind;
  if (kind === undefined) {
    errors.push({ ...at, resource: '', field: 'kind', message: 'required' });
    return;
  }
  if (!isResourceKind(kind)) {
    errors.push({
      ...at,
      resource: resourceLabel(String(kind), str(meta.namespace), str(meta.name)),
      field: 'kind',
      message: `unknown kind "${String(kind)}" (known: ${Object.keys(RESOURCE_KINDS).join(', ')})`,
    });
    return;
  }
  const info = RESOURCE_KINDS[kind];
  const namespace = info.namespaced ? (str(meta.namespace) ?? 'default') : undefined;
  const resource = resourceLabel(kind, namespace, str(meta.name));
  if (!info.apiVersions.includes(String(raw.apiVersion))) {
    errors.push({
      ...at,
      resource,
      field: 'apiVersion',
      message: `${raw.apiVersion === undefined ? 'required' : `"${String(raw.apiVersion)}" is not served`} for ${kind}: use ${info.apiVersions.join(' or ')}${info.hint ? ` (${info.hint})` : ''}`,
    });
    return;
  }
  if (!info.namespaced && meta.namespace !== undefined) {
    errors.push({
      ...at,
      resource,
      field: 'metadata.namespace',
      message: `not allowed: ${kind} is cluster-scoped`,
    });
  }
  const parsed = info.schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      errors.push({ ...at, resource, field: formatFieldPath(issue.path), message: zodIssueMessage(issue) });
    }
    return;
  }
  const object = parsed.data as { metadata: { name: string; namespace?: string } };
  if (namespace !== undefined) object.metadata.namespace = namespace;
  out.push({
    kind,
    namespace,
    name: object.metadata.name,
    ...at,
    object: object as ResourcesByKind[typeof kind],
  });
}

/** The per-file part of validation (YAML + schemas), cacheable by file text. */
export interface FileValidation {
  text: string;
  resources: LocatedResource[];
  errors: ConfigError[];
}

/** Parses and schema-checks one file; cross-resource checks need all files (validateConfig). */
export function validateFile(file: ManifestFile): FileValidation {
  const { documents, errors } = parseManifests([file]);
  const resources: LocatedResource[] = [];
  for (const d of documents) validateDocument(d, errors, resources);
  return { text: file.text, resources, errors };
}

/**
 * Validates a whole set of files. With a cache (path -> FileValidation), files whose text did not
 * change are not parsed again: one edit in a large config costs one file's parse plus the
 * cross-resource checks. Cached resources must be treated as immutable.
 */
export function validateConfig(
  files: readonly ManifestFile[],
  cache?: Map<string, FileValidation>,
): ConfigValidation {
  const errors: ConfigError[] = [];
  const located: LocatedResource[] = [];
  for (const f of files) {
    let v = cache?.get(f.path);
    if (!v || v.text !== f.text) {
      v = validateFile(f);
      cache?.set(f.path, v);
    }
    errors.push(...v.errors);
    located.push(...v.resources);
  }
  if (cache) {
    const present = new Set(files.map((f) => f.path));
    for (const p of cache.keys()) if (!present.has(p)) cache.delete(p);
  }
  errors.push(...checkReferences(located));
  if (errors.length > 0) {
    errors.sort((a, b) => a.file.localeCompare(b.file) || a.document - b.document);
    return { valid: false, errors };
  }
  const result = emptyConfig();
  for (const r of located) (result[r.kind] as unknown[]).push(r.object);
  return { valid: true, result };
}
