// Shared start-up for the TypeScript entry points (pilotlight, bench): tsx's loader and the Node 20 shim.
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
