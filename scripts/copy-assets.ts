/**
 * `npm run build` part: copies what tsc does not emit into dist/, beside the
 * code that reads it: the dashboard's page, script and styles
 * (src/observe/dashboard -> dist/observe/dashboard). Users need no build
 * step: the files are plain HTML, CSS and browser JavaScript.
 */
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/observe/dashboard/', import.meta.url);
const to = new URL('../dist/observe/dashboard/', import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
console.log('assets: src/observe/dashboard -> dist/observe/dashboard');
