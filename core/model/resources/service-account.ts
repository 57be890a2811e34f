// ServiceAccount (v1): the name behind a workload's SPIFFE identity.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';

export const serviceAccountSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ServiceAccount'),
  metadata: objectMeta,
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;
