// Worker entry used only when the runtime runs from its TypeScript sources
// (tests, examples, benches). It registers tsx's ESM hooks in this worker and
// imports host.ts as an ES module. Passing `--import tsx` instead would make
// Piscina's `require(filename)` succeed through tsx's CommonJS hook, and the
// whole runtime would run as transpiled CommonJS, where every imported
// constant is a getter call (measured: alloc+free 4x slower). Built code
// (dist/) uses host.js directly and needs none of this.
import { register } from 'tsx/esm/api';

register();
const host = await import('./host.ts');

export default host.default;
