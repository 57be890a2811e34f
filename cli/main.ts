// The `ambit` entry point: parses flags with commander and hands over to a component. It holds no
// logic of its own; each subcommand lives in cli/commands/<name>.ts.
import { Command } from 'commander';
import { registerController } from './commands/controller.js';
import { registerAgent } from './commands/agent.js';
import { registerZtunnel } from './commands/ztunnel.js';
import { registerWaypoint } from './commands/waypoint.js';
import { registerInspect } from './commands/inspect.js';
import { registerDemo } from './commands/demo.js';
import { registerBpf } from './commands/bpf.js';
import { registerToken } from './commands/token.js';
import { registerCni } from './commands/cni.js';

const program = new Command('ambit')
  .description('Ambit: a sidecarless service mesh (controller, node agent, ztunnel, waypoint)')
  .version('0.1.0')
  .showHelpAfterError();

registerController(program);
registerAgent(program);
registerZtunnel(program);
registerWaypoint(program);
registerInspect(program);
registerToken(program);
registerBpf(program);
registerDemo(program);
registerCni(program);

await program.parseAsync(process.argv);
