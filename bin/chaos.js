#!/usr/bin/env node
// `npm run chaos`: runs chaos/run.ts (the chaos matrix) through tsx; its worker processes start here too.
await import('./runtime.js');
await import('../chaos/run.ts');
