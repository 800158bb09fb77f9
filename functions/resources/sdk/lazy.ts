/**
 * A service's SDK, imported the first time a resource-type module needs it and kept after that. The modules
 * under ./ re-export only the commands and errors a type uses, so esbuild (ESM, `splitting`) puts each in its
 * own chunk, loaded on first use: a function initialises only the registry's light part, and a drill of one
 * type loads one service's SDK (docs/architecture.md, "Lean functions").
 */
export function lazySdk<M>(load: () => Promise<M>): () => Promise<M> {
  let loading: Promise<M> | undefined;
  return () => {
    loading ??= load();
    return loading;
  };
}
