// Namespace (v1): only metadata matters to the mesh (labels ambit.dev/dataplane-mode and ambit.dev/use-waypoint).
import { z } from 'zod';
import { labelNamedMeta } from './object-meta.js';

export const namespaceSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: labelNamedMeta,
});
export type Namespace = z.infer<typeof namespaceSchema>;
