#!/usr/bin/env node
// `npm run bench`: runs bench/drills.ts through tsx.
await import('./runtime.js');
await import('../bench/drills.ts');
