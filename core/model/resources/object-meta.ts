// ObjectMeta as the config model reads it: name, namespace, labels, annotations, uid, timestamps and
// owner references. Unknown metadata fields (managedFields, resourceVersion...) pass untouched.
import { z } from 'zod';
import { dnsLabel, dnsSubdomain, labelMap, stringMap } from './values.js';

const ownerReference = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
});

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 timestamp');

export const objectMeta = z.looseObject({
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
  labels: labelMap.optional(),
  annotations: stringMap.optional(),
  uid: z.string().optional(),
  creationTimestamp: timestamp.optional(),
  deletionTimestamp: timestamp.optional(),
  ownerReferences: z.array(ownerReference).optional(),
});
export type ObjectMeta = z.infer<typeof objectMeta>;

/** Names that must also be DNS labels (Namespace, Service). */
export const labelNamedMeta = objectMeta.extend({ name: dnsLabel });
