// `ambit controller`: flags of DESIGN.md §8; starts the controller component and stops it cleanly
// on SIGINT/SIGTERM.
// The component is imported only when the command runs: every `ambit` invocation loads this file,
// and the controller's code (Kubernetes client, gRPC server, CA) took ~1.2 s to load.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';

interface ControllerFlags {
  config?: string;
  kubeconfig?: string;
  listen: string;
  stateDir: string;
  caCert?: string;
  caKey?: string;
  trustDomain: string;
  metricsListen?: string;
}

export function registerController(program: Command): void {
  program
    .command('controller')
    .description('run the controller: config store, CA and discovery over gRPC')
    .option('--config <dir>', 'embedded config store: a directory of YAML manifests')
    .option(
      '--kubeconfig <path>',
      'use a Kubernetes API server as the config store (inside a pod, with neither flag: the in-cluster service account)',
    )
    .option('--listen <host:port>', 'gRPC listen address (discovery + CA, mTLS)', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'where the trust root and join token are written', '.ambit/')
    .option('--ca-cert <file>', 'operator-supplied root certificate (PEM)')
    .option('--ca-key <file>', 'operator-supplied root key (PEM)')
    .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics (per-kind watch health) here')
    .action(
      runAction(async (flags: ControllerFlags) => {
        const grpc = await import('@grpc/grpc-js');
        const { startController } = await import('../../controller/controller.js');
        const { createLogger } = await import('../../core/telemetry/logger.js');
        // failures reach the operator as one line (run-action.ts) and pino logs; grpc-js's own stderr lines would add noise
        grpc.setLogVerbosity(grpc.logVerbosity.NONE);
        const logger = createLogger('controller');
        const controller = await startController({
          configDir: flags.config,
          kubeconfig: flags.kubeconfig,
          listen: flags.listen,
          stateDir: flags.stateDir,
          caCertFile: flags.caCert,
          caKeyFile: flags.caKey,
          trustDomain: flags.trustDomain,
          metricsListen: flags.metricsListen,
          logger,
        });
        await new Promise<void>((resolve) => {
          // test harnesses set AMBIT_PARENT_PID so a controller never outlives a killed test run
          const parent = Number(process.env.AMBIT_PARENT_PID);
          if (parent > 0) {
            setInterval(() => {
              if (process.ppid !== parent) stop('parent exited');
            }, 1000).unref();
          }
          let stopping = false;
          const stop = (signal: string): void => {
            if (stopping) return;
            stopping = true;
            logger.info({ signal }, 'controller stopping');
            void controller.close().then(resolve);
          };
          process.once('SIGINT', () => stop('SIGINT'));
          process.once('SIGTERM', () => stop('SIGTERM'));
        });
      }),
    );
}
