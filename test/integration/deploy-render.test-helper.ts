// Shared by the deploy-*.test.ts suites: renders deploy/daemonset with the real `kubectl kustomize`
// and finds, for a rendered object, the kubernetes-models / @kubernetes-models/gateway-api model
// class of its apiVersion and kind (the maintained schemas the objects are validated against).
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as apiextensionsV1 from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as gatewayV1 from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';

export const BASE_DIR = 'deploy/daemonset';

/** A rendered object, read loosely: the suites check fields through the helpers below. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Runs `kubectl kustomize deploy/daemonset` and parses every document it prints. */
export function renderBase(): K8sObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', BASE_DIR], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'kubectl is not installed: run `sudo bash scripts/setup.sh` (installs kubernetes-client)',
        {
          cause: err,
        },
      );
    }
    throw new Error(`kubectl kustomize ${BASE_DIR} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length > 0) throw new Error(`rendered document ${i + 1}: ${d.errors[0]?.message}`);
    const obj: unknown = d.toJS();
    if (!isK8sObject(obj)) throw new Error(`rendered document ${i + 1} has no apiVersion/kind/metadata.name`);
    return obj;
  });
}

function isK8sObject(v: unknown): v is K8sObject {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const meta = o.metadata as Record<string, unknown> | undefined;
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string' && typeof meta?.name === 'string';
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: object) => Validatable;

function isModelClass(v: unknown): v is ModelClass & { apiVersion: string; kind: string } {
  return (
    typeof v === 'function' &&
    typeof (v as { apiVersion?: unknown }).apiVersion === 'string' &&
    typeof (v as { kind?: unknown }).kind === 'string'
  );
}

const MODELS = new Map<string, ModelClass>();
for (const mod of [coreV1, appsV1, policyV1, rbacV1, apiextensionsV1, gatewayV1]) {
  for (const v of Object.values(mod)) if (isModelClass(v)) MODELS.set(`${v.apiVersion} ${v.kind}`, v);
}

/** The maintained model of an object's apiVersion and kind, or undefined when none covers it. */
export function modelFor(obj: K8sObject): ModelClass | undefined {
  return MODELS.get(`${obj.apiVersion} ${obj.kind}`);
}

/** Reads a nested field by path; undefined when any step is missing. */
export function field(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`the rendered base has no ${kind} ${name}`);
  return o;
}
