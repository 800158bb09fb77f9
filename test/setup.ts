// aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20.19 lacks it. Same shim as bin/pilotlight.js.
if (!(Promise as { withResolvers?: unknown }).withResolvers) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
