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

  it('keeps the contract ports, each on the component that owns it', () => {
    interface Container {
      name: string;
      args?: string[];
      ports?: { name: string; containerPort: number }[];
      readinessProbe?: { httpGet?: { path: string; port: number } };
    }
    interface K8sObject {
      kind: string;
      metadata: { name: string };
      spec?: {
        template?: { spec: { containers: Container[] } };
        ports?: { name: string; port: number; targetPort: number }[];
      };
    }
    const objects = kustomization.resources.flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as K8sObject),
    );
    const containers = new Map(
      objects.flatMap((o) => o.spec?.template?.spec.containers ?? []).map((c) => [c.name, c]),
    );
    const ports = (name: string) => containers.get(name)?.ports ?? [];
    // DESIGN.md §4: 15008 HBONE, 15020 metrics, 15021 readiness on the ztunnel; 15010 on the controller.
    expect(ports('ztunnel')).toEqual([
      { name: 'hbone', containerPort: 15008 },
      { name: 'metrics', containerPort: 15020 },
      { name: 'ready', containerPort: 15021 },
    ]);
    expect(containers.get('ztunnel')?.readinessProbe?.httpGet).toEqual({
      path: '/healthz/ready',
      port: 15021,
    });
    expect(ports('controller')).toEqual([{ name: 'grpc', containerPort: 15010 }]);
    expect(containers.get('controller')?.args).toContain('0.0.0.0:15010');
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'ambit-controller');
    expect(service?.spec?.ports).toEqual([{ name: 'grpc', port: 15010, targetPort: 15010 }]);
    for (const client of ['agent', 'ztunnel']) {
      const args = containers.get(client)?.args ?? [];
      expect(args, client).toContain('ambit-controller.ambit-system.svc:15010');
      // DESIGN §2: a node bootstraps with a token bound to it, never the operator's join-token.
      expect(args[args.indexOf('--token-file') + 1], client).toBe('/var/run/ambit/node-token');
      expect(args.join(' '), client).not.toMatch(/join-token/);
    }
  });
});
