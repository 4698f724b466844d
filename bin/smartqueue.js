#!/usr/bin/env node
// Entry point of the `smartqueue` command: runs the compiled CLI (built by `npm install`).
import { main } from '../dist/cli/main.js';

// `smartqueue runs | head`: a reader that goes away is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2));
