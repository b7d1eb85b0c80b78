// Types for comlink's ESM build files, which the peers import by path:
// comlink 4.4 has no "exports" map, its "main" is a UMD bundle, and its ESM
// .mjs files ship no .d.mts. The declarations are those of the package's own
// typings (dist/umd/*.d.ts).
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export interface NodeEndpoint {
    postMessage(message: any, transfer?: any[]): void;
    on(type: string, listener: (...args: any[]) => void, options?: {}): void;
    off(type: string, listener: (...args: any[]) => void, options?: {}): void;
    start?: () => void;
  }
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
