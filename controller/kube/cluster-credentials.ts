// STUB (issue 10, being built): the controller's credentials in a cluster. The CA key lives in the
// Secret `ambit-ca` (generated into it when absent, shared by every replica), the trust root is
// published in the ConfigMap `ambit-root-cert` that node pods mount, and the state dir still gets
// root-cert.pem and join-token so `ambit status` works inside the controller pod.
import type { Logger } from 'pino';
import { prepareStateDir, type ControllerCredentials } from '../state-dir.js';
import type { KubeApi } from './kube-api.js';

export interface ClusterCredentialsOptions {
  api: KubeApi;
  /** The controller's namespace (POD_NAMESPACE, default ambit-system). */
  namespace: string;
  stateDir: string;
  trustDomain: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
  logger: Logger;
}

export async function prepareClusterCredentials(
  o: ClusterCredentialsOptions,
): Promise<ControllerCredentials> {
  o.logger.warn('cluster credentials are not built yet: using the state dir');
  return prepareStateDir(o);
}
