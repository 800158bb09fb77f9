#!/usr/bin/env node
// The `pilotlight` command. The CLI and the sandbox are TypeScript, run through tsx's loader.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!Promise.withResolvers) {
  // aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20.19 lacks it.
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
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit once stdout is flushed: idle keep-alive sockets to the local DynamoDB must not hold the process open.
process.stdout.write('', () => process.exit(code));
