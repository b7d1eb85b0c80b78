// The piscina peer of tasks-throughput: a trivial task that answers its input.
export default function trivialTask(payload) {
  return payload;
}
