// Reads multi-document YAML text into raw documents, each located by file and 1-based document
// index. YAML syntax errors become ConfigErrors; empty documents are skipped. No schema here.
import { parseAllDocuments } from 'yaml';
import type { ConfigError } from './config-error.js';

/** Paths of objects the Kubernetes store feeds in (`kube:<Kind>/<ns>/<name>`), one JSON document each. */
export const KUBE_OBJECT_PREFIX = 'kube:';

export interface ManifestFile {
  /** Path relative to the config root, as shown in errors. */
  path: string;
  text: string;
}

export interface RawDocument {
  file: string;
  document: number;
  value: unknown;
}

export function parseManifests(files: readonly ManifestFile[]): {
  documents: RawDocument[];
  errors: ConfigError[];
} {
  const documents: RawDocument[] = [];
  const errors: ConfigError[] = [];
  for (const f of files) {
    // objects from the Kubernetes store arrive as one JSON document each: JSON.parse reads them
    // ~40x faster than the YAML parser (2.0 s -> 0.05 s for 10,000 Pods) with the same result
    if (f.path.startsWith(KUBE_OBJECT_PREFIX) && f.text.startsWith('{')) {
      try {
        documents.push({ file: f.path, document: 1, value: JSON.parse(f.text) as unknown });
        continue;
      } catch {
        // not JSON after all: the YAML parser below reports where it is broken
      }
    }
    let docs;
    try {
      docs = parseAllDocuments(f.text);
    } catch (err) {
      errors.push({
        file: f.path,
        document: 0,
        resource: '',
        field: '',
        message: `YAML error: ${(err as Error).message}`,
      });
      continue;
    }
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const index = i + 1;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const pos = e.linePos?.[0];
          const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
          errors.push({
            file: f.path,
            document: index,
            resource: '',
            field: '',
            message: `YAML syntax error${at}: ${firstLine(e.message).replace(/ at line \d+, column \d+:?$/, '')}`,
          });
        }
        return;
      }
      let value: unknown;
      try {
        // bounded alias expansion: an alias bomb is a config error, not a crash (found by fuzzing)
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        errors.push({
          file: f.path,
          document: index,
          resource: '',
          field: '',
          message: `YAML error: ${firstLine((err as Error).message)}`,
        });
        return;
      }
      if (value === null || value === undefined) return;
      documents.push({ file: f.path, document: index, value });
    });
  }
  return { documents, errors };
}

/** The text before the first line break (split() always yields at least one part). */
function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
