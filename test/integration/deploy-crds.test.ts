// The Ambit CRDs of deploy/daemonset against the config model they mirror. Their openAPIV3Schema
// (validated with ajv, unknown fields refused as the API server's strict field validation refuses
// them) must accept every example of their kinds in the repo (docs/*.md and README YAML blocks, the
// local cluster's default and demo manifests, test/fixtures/deploy/good) and reject each broken
// fixture for the reason it is broken; the model's own validateFile must agree on the same set, so
// the CRDs and the model cannot drift apart. Also checks the schemas are structural, which the API
// server requires before it accepts a CRD.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML, { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateFile } from '../../core/model/validate-config.js';
import { manifestFiles } from '../../local-cluster/manifests.js';
import { defaultTopologySpec, demoTopologySpec, planTopology } from '../../local-cluster/topology.js';
import { field, renderBase } from './deploy-render.test-helper.js';

type Schema = Record<string, unknown>;
const FIXTURES = 'test/fixtures/deploy';
const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;

const crds = renderBase().filter((o) => o.kind === 'CustomResourceDefinition');
/** `group/version Kind` -> the version's openAPIV3Schema */
const schemas = new Map<string, Schema>();
for (const crd of crds) {
  const group = String(field(crd, 'spec', 'group'));
  const kind = String(field(crd, 'spec', 'names', 'kind'));
  for (const v of field(crd, 'spec', 'versions') as { name: string; schema: { openAPIV3Schema: Schema } }[]) {
    schemas.set(`${group}/${v.name} ${kind}`, v.schema.openAPIV3Schema);
  }
}
const CRD_KINDS = new Set([...schemas.keys()].map((k) => k.split(' ')[1]));

/**
 * The schema as the API server applies it with strict field validation (kubectl's default since
 * 1.27): an object that lists its properties refuses any other field. Junctors are left alone.
 */
function strict(s: Schema): Schema {
  const out: Schema = { ...s };
  const props = s.properties as Record<string, Schema> | undefined;
  if (props) {
    out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, strict(v)]));
    if (s['x-kubernetes-preserve-unknown-fields'] !== true && s.additionalProperties === undefined) {
      out.additionalProperties = false;
    }
  }
  if (typeof s.items === 'object' && s.items !== null) out.items = strict(s.items as Schema);
  if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null) {
    out.additionalProperties = strict(s.additionalProperties as Schema);
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strictTypes: false });
ajv.addVocabulary([
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
]);
const validators = new Map<string, ValidateFunction>(
  [...schemas].map(([key, s]) => [key, ajv.compile(strict(s))] as const),
);

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
}

function crdErrors(doc: Doc): ErrorObject[] {
  const v = validators.get(`${doc.apiVersion} ${doc.kind}`);
  if (!v) throw new Error(`no CRD serves ${doc.apiVersion} ${doc.kind}`);
  return v(doc) ? [] : (v.errors ?? []);
}

function modelFields(doc: Doc, file: string): string[] {
  return validateFile({ path: file, text: YAML.stringify(doc) }).errors.map((e) => e.field);
}

// ---- where the examples come from --------------------------------------------------------------

interface Example {
  source: string;
  doc: Doc;
}

function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

function docsOf(text: string, source: string): Example[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null && CRD_KINDS.has(d.kind ?? ''))
    .map((doc) => ({ source: `${source} ${doc.kind} ${doc.metadata?.name}`, doc }));
}

function markdownExamples(): Example[] {
  const files = ['README.md', ...readdirSync('docs').map((f) => path.join('docs', f))].filter((f) =>
    f.endsWith('.md'),
  );
  return files.flatMap((f) =>
    yamlBlocks(readFileSync(f, 'utf8')).flatMap((b, i) => docsOf(b, `${f} block ${i + 1}`)),
  );
}

function localClusterExamples(): Example[] {
  const specs = { default: defaultTopologySpec(), demo: demoTopologySpec() };
  return Object.entries(specs).flatMap(([name, spec]) =>
    manifestFiles(planTopology(spec, 'x-'), { peerAuthentication: { demo: 'STRICT' } }).flatMap((f) =>
      docsOf(f.text, `local-cluster ${name} ${f.path}`),
    ),
  );
}

function fixtureExamples(): Example[] {
  const dir = path.join(FIXTURES, 'good');
  return readdirSync(dir).flatMap((f) => docsOf(readFileSync(path.join(dir, f), 'utf8'), `${dir}/${f}`));
}

const examples = [...markdownExamples(), ...localClusterExamples(), ...fixtureExamples()];

// ---- the broken fixtures, each with why it is broken -------------------------------------------

/** Where the CRD refuses it: an ajv error (instance path, keyword), or a CEL rule ajv cannot run. */
type CrdReason = { path: string; keyword: string } | { cel: { at: string[]; message: string } };
interface Broken {
  file: string;
  crd: CrdReason;
  /** the field path the model's error names */
  model: string;
}

const BROKEN: Broken[] = [
  { file: 'ap-action-unknown', crd: { path: '/spec/action', keyword: 'enum' }, model: 'spec.action' },
  {
    file: 'ap-port-number',
    crd: { path: '/spec/rules/0/to/0/operation/ports/0', keyword: 'type' },
    model: 'spec.rules[0].to[0].operation.ports[0]',
  },
  {
    file: 'ap-port-out-of-range',
    crd: { path: '/spec/rules/0/to/0/operation/notPorts/0', keyword: 'pattern' },
    model: 'spec.rules[0].to[0].operation.notPorts[0]',
  },
  {
    file: 'ap-when-without-key',
    crd: { path: '/spec/rules/0/when/0', keyword: 'required' },
    model: 'spec.rules[0].when[0].key',
  },
  { file: 'ap-selector-and-targetrefs', crd: { path: '/spec', keyword: 'not' }, model: 'spec.selector' },
  { file: 'ap-custom-without-provider', crd: { path: '/spec', keyword: 'anyOf' }, model: 'spec.provider' },
  {
    file: 'ap-misspelt-field',
    crd: { path: '/spec/rules/0', keyword: 'additionalProperties' },
    model: 'spec.rules[0]',
  },
  {
    file: 'ap-ipblock-hostname',
    crd: { path: '/spec/rules/0/from/0/source/ipBlocks/0', keyword: 'pattern' },
    model: 'spec.rules[0].from[0].source.ipBlocks[0]',
  },
  {
    file: 'ap-targetref-without-name',
    crd: { path: '/spec/targetRefs/0', keyword: 'required' },
    model: 'spec.targetRefs[0].name',
  },
  { file: 'pa-mode-unknown', crd: { path: '/spec/mtls/mode', keyword: 'enum' }, model: 'spec.mtls.mode' },
  {
    file: 'pa-port-level-without-selector',
    crd: { path: '/spec', keyword: 'anyOf' },
    model: 'spec.portLevelMtls',
  },
  {
    file: 'pa-port-key-not-number',
    crd: {
      cel: { at: ['spec', 'portLevelMtls'], message: 'portLevelMtls keys must be port numbers 1-65535' },
    },
    model: 'spec.portLevelMtls.http',
  },
  { file: 'tp-no-spec', crd: { path: '', keyword: 'required' }, model: 'spec' },
  { file: 'tp-no-targetrefs', crd: { path: '/spec', keyword: 'required' }, model: 'spec.targetRefs' },
  {
    file: 'tp-targetref-deployment',
    crd: { path: '/spec/targetRefs/0/kind', keyword: 'enum' },
    model: 'spec.targetRefs[0].kind',
  },
  { file: 'tp-lb-both', crd: { path: '/spec/loadBalancer', keyword: 'oneOf' }, model: 'spec.loadBalancer' },
  {
    file: 'tp-lb-unknown',
    crd: { path: '/spec/loadBalancer/simple', keyword: 'enum' },
    model: 'spec.loadBalancer.simple',
  },
  {
    file: 'tp-attempts-string',
    crd: { path: '/spec/retry/attempts', keyword: 'type' },
    model: 'spec.retry.attempts',
  },
  {
    file: 'tp-retry-without-attempts',
    crd: { path: '/spec/retry', keyword: 'required' },
    model: 'spec.retry.attempts',
  },
  {
    file: 'tp-retryon-unknown',
    crd: { path: '/spec/retry/retryOn', keyword: 'pattern' },
    model: 'spec.retry.retryOn',
  },
  {
    file: 'tp-duration-words',
    crd: { path: '/spec/retry/perTryTimeout', keyword: 'pattern' },
    model: 'spec.retry.perTryTimeout',
  },
  {
    file: 'tp-abort-neither',
    crd: { path: '/spec/fault/abort', keyword: 'oneOf' },
    model: 'spec.fault.abort',
  },
  {
    file: 'tp-budget-over-100',
    crd: { path: '/spec/retryBudget/percent', keyword: 'maximum' },
    model: 'spec.retryBudget.percent',
  },
  {
    file: 'tp-grpc-status-unknown',
    crd: { path: '/spec/fault/abort/grpcStatus', keyword: 'pattern' },
    model: 'spec.fault.abort.grpcStatus',
  },
  {
    file: 'tp-backoff-max-below-base',
    crd: { cel: { at: ['spec', 'retry', 'backoff'], message: 'maxInterval must be at least baseInterval' } },
    model: 'spec.retry.backoff.maxInterval',
  },
];

function brokenDoc(file: string): Doc {
  const docs = parseAllDocuments(readFileSync(path.join(FIXTURES, 'broken', `${file}.yaml`), 'utf8'));
  expect(docs, file).toHaveLength(1);
  return docs[0]?.toJS() as Doc;
}

/** The schema node at a property path (through properties). */
function schemaAt(root: Schema, at: string[]): Schema | undefined {
  let cur: Schema | undefined = root;
  for (const p of at) cur = (cur?.properties as Record<string, Schema> | undefined)?.[p];
  return cur;
}

// ---- structural schemas (what the API server checks when the CRD is created) ---------------------

const FORBIDDEN_IN_JUNCTORS = ['type', 'description', 'default', 'additionalProperties', 'nullable'];

/**
 * Problems that make a schema non-structural (apiextensions "Specifying a structural schema").
 * `counterpart` is set inside junctors: the structural node the junctor part constrains, whose
 * declared fields are the only ones the part may name.
 */
function structuralProblems(s: Schema, at: string, counterpart?: Schema, out: string[] = []): string[] {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  if (counterpart) {
    for (const k of Object.keys(s)) {
      if (FORBIDDEN_IN_JUNCTORS.includes(k) || k.startsWith('x-kubernetes-'))
        out.push(`${at}: ${k} inside a junctor`);
    }
    const declared = (counterpart.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[])
      if (!declared[r]) out.push(`${at}: requires undeclared ${r}`);
    for (const [k, v] of Object.entries(props)) {
      const d = declared[k];
      if (d) structuralProblems(v, `${at}.${k}`, d, out);
      else out.push(`${at}: ${k} is not a declared field`);
    }
    if (typeof s.items === 'object' && s.items !== null) {
      structuralProblems(s.items as Schema, `${at}[]`, (counterpart.items ?? {}) as Schema, out);
    }
  } else {
    if (
      !s.type &&
      s['x-kubernetes-int-or-string'] !== true &&
      s['x-kubernetes-preserve-unknown-fields'] !== true
    ) {
      out.push(`${at}: no type`);
    }
    if (s.properties && s.additionalProperties !== undefined)
      out.push(`${at}: both properties and additionalProperties`);
    if (Array.isArray(s.items)) out.push(`${at}: items must be one schema`);
    for (const [k, v] of Object.entries(props)) structuralProblems(v, `${at}.${k}`, undefined, out);
    if (typeof s.items === 'object' && s.items !== null)
      structuralProblems(s.items as Schema, `${at}[]`, undefined, out);
    if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null) {
      structuralProblems(s.additionalProperties as Schema, `${at}{}`, undefined, out);
    }
  }
  for (const j of JUNCTORS) {
    const parts = (j === 'not' ? (s.not ? [s.not] : []) : (s[j] ?? [])) as Schema[];
    for (const [i, part] of parts.entries())
      structuralProblems(part, `${at}.${j}[${i}]`, counterpart ?? s, out);
  }
  return out;
}

describe('Ambit CRDs', () => {
  it('serve the three Ambit kinds at the model apiVersions', () => {
    expect([...schemas.keys()].sort()).toEqual([
      'networking.ambit.dev/v1alpha1 TrafficPolicy',
      'security.ambit.dev/v1 AuthorizationPolicy',
      'security.ambit.dev/v1 PeerAuthentication',
    ]);
  });

  it.each([...schemas])('%s has a structural schema', (_key, schema) => {
    expect(structuralProblems(schema, 'openAPIV3Schema')).toEqual([]);
  });

  it('the structural check has teeth', () => {
    const bad: Schema = {
      type: 'object',
      properties: { a: { properties: {} }, b: { type: 'string' } },
      anyOf: [{ type: 'object', required: ['c'] }],
    };
    expect(structuralProblems(bad, 'x')).toEqual([
      'x.a: no type',
      'x.anyOf[0]: type inside a junctor',
      'x.anyOf[0]: requires undeclared c',
    ]);
  });
});

describe('CRD schemas and the model agree on the examples in the repo', () => {
  it('finds examples of every Ambit kind in docs, the local cluster and the fixtures', () => {
    const sources = (kind: string) =>
      examples.filter((e) => e.doc.kind === kind).map((e) => e.source.split(' ')[0]);
    expect(new Set(sources('TrafficPolicy'))).toEqual(
      new Set(['docs/kubernetes.md', 'docs/waypoint.md', `${FIXTURES}/good/traffic-policies.yaml`]),
    );
    expect(sources('AuthorizationPolicy')).toContain('local-cluster');
    expect(sources('PeerAuthentication')).toContain('local-cluster');
    expect(examples.length).toBeGreaterThanOrEqual(15);
  });

  it.each(examples.map((e) => [e.source, e.doc] as const))('accepts %s', (source, doc) => {
    expect(crdErrors(doc), `CRD schema on ${source}`).toEqual([]);
    expect(modelFields(doc, source), `model on ${source}`).toEqual([]);
  });
});

describe('CRD schemas and the model reject the broken fixtures, each for its reason', () => {
  it('covers every broken fixture', () => {
    const files = readdirSync(path.join(FIXTURES, 'broken')).map((f) => f.replace(/\.yaml$/, ''));
    expect(files.sort()).toEqual(BROKEN.map((b) => b.file).sort());
  });

  it.each(BROKEN.map((b) => [b.file, b] as const))('%s', (file, b) => {
    const doc = brokenDoc(file);
    const errors = crdErrors(doc);
    if ('cel' in b.crd) {
      // ajv cannot run CEL: the structural part accepts it and the CRD carries the rule that refuses it
      expect(errors).toEqual([]);
      const schema = [...schemas].find(([k]) => k === `${doc.apiVersion} ${doc.kind}`)?.[1];
      const rules = schemaAt(schema ?? {}, b.crd.cel.at)?.['x-kubernetes-validations'] as {
        message: string;
      }[];
      expect(rules.map((r) => r.message)).toContain(b.crd.cel.message);
    } else {
      const reason = b.crd;
      expect(
        errors.map((e) => `${e.instancePath} ${e.keyword}`),
        JSON.stringify(errors.map((e) => [e.instancePath, e.keyword, e.message])),
      ).toContain(`${reason.path} ${reason.keyword}`);
    }
    expect(modelFields(doc, file)).toContain(b.model);
  });
});
