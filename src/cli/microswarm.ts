#!/usr/bin/env node
/**
 * The `microswarm` command (package.json `bin`): `microswarm top --url
 * http://127.0.0.1:9464/`. It talks to a running runtime over HTTP only and
 * imports nothing of the runtime itself (a dependency rule,
 * `cli-talks-http-only`, keeps it so), so it starts fast and can watch a
 * runtime of another version.
 *
 * Exit codes: 0 when the user quits; 2 for a bad command line (the message
 * names the argument and the value received, then the usage).
 */
import { InvalidOptionError } from '../base/errors.js';
import { parseCommandLine, usage } from './args.js';
import { runTop } from './top.js';

let command: ReturnType<typeof parseCommandLine>;
try {
  command = parseCommandLine(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof InvalidOptionError)) throw err;
  process.stderr.write(`microswarm: ${err.message}\n\n${usage}\n`);
  process.exit(2);
}
if (command.command === 'help') {
  process.stdout.write(`${usage}\n`);
} else {
  const code = await runTop(command.options);
  // fetch keeps idle sockets open for a while: exit now rather than wait for them.
  process.exit(code);
}
