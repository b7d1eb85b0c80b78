// The task of the piscina peer. The pool has exactly one thread that never
// idles out, so this module-level counter lives as long as the pool: a task
// { type: 'inc', by } is the nearest piscina has to a one-way message, and
// { type: 'get' } answers with the count.
let n = 0;

export default function counterTask(msg) {
  if (msg.type === 'inc') {
    n += msg.by;
    return undefined;
  }
  return n;
}
