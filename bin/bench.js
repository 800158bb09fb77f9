#!/usr/bin/env node
// `npm run bench`: runs bench/drills.ts through tsx, with the same Node 20 shim as bin/pilotlight.js.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const { register } = await import('tsx/esm/api');
register();
await import('../bench/drills.ts');
