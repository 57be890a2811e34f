// The kustomize base in deploy/daemonset parses, names only files that exist, and keeps the
// contract's ports (DESIGN.md §4) on the components it deploys.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const dir = 'deploy/daemonset';

describe('deploy/daemonset', () => {
  const kustomization = parseAllDocuments(
    readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'),
  )[0]!.toJS() as {
    resources: string[];
  };

  it('lists every manifest of the folder and nothing else', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('every document is a well-formed Kubernetes object', () => {
    for (const f of kustomization.resources) {
      for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), 'utf8'))) {
        expect(doc.errors, f).toEqual([]);
        const obj = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
        expect(obj.apiVersion, f).toBeTruthy();
        expect(obj.kind, f).toBeTruthy();
        expect(obj.metadata?.name, f).toBeTruthy();
      }
    }
  });

  it('keeps the contract ports', () => {
    const all = kustomization.resources.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    for (const port of [15008, 15010, 15020, 15021]) expect(all).toContain(String(port));
    expect(all).toContain('/healthz/ready');
  });
});
