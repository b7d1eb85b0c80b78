/** A plain function task for tasks-throughput: answers its payload. */
export default function trivial(payload: unknown): unknown {
  return payload;
}
