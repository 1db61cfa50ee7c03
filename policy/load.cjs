/* global module, __filename */
// The entry point the Pulumi CLI starts (package.json "main"). Its policy-pack runner loads the pack with
// require() after registering its own ts-node, whatever PulumiPolicy.yaml's `typescript` says, and
// ts-node cannot load this ESM TypeScript. tsx's scoped import runs index.ts as the main program is run
// (`--import tsx`), without hooking anything else; the runner awaits the promise exported here.
module.exports = import("tsx/esm/api").then(({ tsImport }) => tsImport("./index.ts", __filename));
