#!/usr/bin/env node
// The `pilotlight` command. The CLI and the sandbox are TypeScript, run through tsx's loader.
await import('./runtime.js');
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit once stdout is flushed: idle keep-alive sockets to the local DynamoDB must not hold the process open.
process.stdout.write('', () => process.exit(code));
