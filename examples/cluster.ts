/**
 * `npm run example:cluster`: cluster entities on three node processes over
 * NATS. 300 pages, each an entity of ./actors/page-views.ts keyed by its
 * name, get a view from every node: told from a, asked from b and from c.
 * Placement (rendezvous hashing) spreads them over the nodes. Then node c is
 * killed with SIGKILL, as a machine dies, and every page is asked again from
 * a: c's pages are activated again on a and b from their last checkpoints,
 * with their counts, once c is declared down (downAfterMs, 1.5 s). Then
 * everything shuts down.
 *
 * NATS: it starts its own `nats-server -js` (on PATH) on a free loopback
 * port with a store in a temporary directory, both gone at the end. With
 * NATS_URL set it uses that server instead (JetStream enabled), starts none,
 * and removes the buckets it made there.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from '../test/fixtures/nats.js';
import type { PageViews } from './actors/page-views.js';
import type { NodeCommand, NodeStats } from './cluster-node.js';

const pageCount = 300;
const nodeNames = ['a', 'b', 'c'];
// A new cluster each run: on a shared NATS server, no bucket of an earlier run is in the way.
const cluster = `example_${Date.now().toString(36)}`;
const nodeScript = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
const started = performance.now();
const since = (at: number): string => `${((performance.now() - at) / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Reply = { ready: true } | { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** A node process (./cluster-node.ts), driven over IPC. */
class NodeProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    readonly name: string,
    servers: string,
  ) {
    this.child = fork(nodeScript, [servers, cluster, name], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m: Reply) => {
        if ('ready' in m) resolve();
        else {
          const w = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          if (m.ok) w?.resolve(m.value);
          else w?.reject(new Error(`node ${name}: ${m.error}`));
        }
      });
      void this.exited.then(() => {
        reject(new Error(`node ${name} exited before it joined`));
        for (const w of this.waiting.values()) w.reject(new Error(`node ${name} exited`));
        this.waiting.clear();
      });
    });
  }

  call<T>(command: NodeCommand): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, ...command });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

let nats: NatsServer | undefined;
let servers = process.env.NATS_URL;
const nodes: NodeProcess[] = [];

/** Polls every node's stats until `done` holds for all of them. */
async function untilStats(of: NodeProcess[], done: (stats: NodeStats[]) => boolean, what: string): Promise<NodeStats[]> {
  for (const deadline = performance.now() + 20_000; ; await sleep(50)) {
    const stats = await Promise.all(of.map((n) => n.call<NodeStats>({ cmd: 'stats' })));
    if (done(stats)) return stats;
    if (performance.now() > deadline) throw new Error(`${what}: not within 20 s`);
  }
}

/** How many pages answered from each node's process. */
function placement(views: PageViews[]): string {
  return nodes
    .filter((n) => views.some((v) => v.pid === n.child.pid))
    .map((n) => `${n.name} ${views.filter((v) => v.pid === n.child.pid).length}`)
    .join(', ');
}

async function main(): Promise<boolean> {
  if (servers !== undefined) console.log(`NATS: ${servers.replace(/\/\/[^@/]*@/, '//')} (NATS_URL)`);
  else {
    nats = await startNatsServer();
    servers = nats.url;
    console.log(`NATS: started nats-server -js on ${nats.url} (pid ${nats.pid}, store in ${nats.dir})`);
  }

  const joining = performance.now();
  for (const name of nodeNames) nodes.push(new NodeProcess(name, servers));
  await Promise.all(nodes.map((n) => n.ready));
  await untilStats(nodes, (all) => all.every((s) => s.members.join() === nodeNames.join()), 'every node seeing a, b, c');
  console.log(`cluster ${cluster}: nodes ${nodeNames.join(', ')} joined, one process each (${since(joining)})`);

  const [a, b, c] = nodes;
  const pages = Array.from({ length: pageCount }, (_, i) => `page-${String(i).padStart(3, '0')}`);
  const viewing = performance.now();
  await a.call({ cmd: 'view', pages, how: 'tell' });
  await b.call({ cmd: 'view', pages, how: 'ask' });
  await c.call({ cmd: 'view', pages, how: 'ask' });
  // Asked from a, after a's tells: each goes the way a's tell to that page went, so it comes after it.
  const before = await a.call<{ views: PageViews[] }>({ cmd: 'views', pages });
  const counted = before.views.filter((v) => v.total === 3).length;
  console.log(`${pageCount} pages, a view of each told from a, asked from b, asked from c: ${counted}/${pageCount} at 3 views (${since(viewing)})`);
  console.log(`where they live: ${placement(before.views)}`);

  // Each node writes an entity's snapshot after the messages it handled; the kill waits until they are all written
  // (no new one for 4 polls in a row).
  let last = -1;
  let quietPolls = 0;
  const stats = await untilStats(
    nodes,
    (all) => {
      const total = all.reduce((sum, s) => sum + s.checkpoints, 0);
      quietPolls = total === last ? quietPolls + 1 : 0;
      last = total;
      return quietPolls === 4;
    },
    'checkpoints written',
  );
  console.log(`checkpoints written: ${stats.map((s, i) => `${nodes[i].name} ${s.checkpoints}`).join(', ')}`);

  const held = before.views.filter((v) => v.pid === c.child.pid).length;
  console.log(`killing node c (SIGKILL), which holds ${held} pages`);
  const killedAt = performance.now();
  c.child.kill('SIGKILL');
  const after = await a.call<{ views: PageViews[]; retries: number }>({ cmd: 'views', pages });
  const answeredMs = performance.now() - killedAt;
  const takenOver = await Promise.all([a, b].map((n) => n.call<NodeStats>({ cmd: 'stats' })));
  console.log(
    `all ${pageCount} pages answered from a ${answeredMs.toFixed(0)} ms after the kill (${after.retries} asks retried); ` +
      `c's pages activated again from their checkpoints: a ${takenOver[0].takenOver}, b ${takenOver[1].takenOver}`,
  );
  const intact = after.views.filter((v) => v.total === 3 && nodeNames.every((name) => v.byNode[name] === 1)).length;
  console.log(`state survived: ${intact}/${pageCount} pages at 3 views, one from each of a, b, c`);
  console.log(`where they live now: ${placement(after.views)}`);

  await Promise.all([a, b].map((n) => n.call({ cmd: 'shutdown' }).then(() => n.exited)));
  await c.exited;
  console.log('nodes a and b shut down (left the cluster), c is gone');
  return counted === pageCount && intact === pageCount && held > 0;
}

/** On a server given by NATS_URL: removes this run's buckets (`microswarm_<cluster>_*`). */
async function removeBuckets(url: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const kvm = new Kvm(nc);
    const ours: string[] = [];
    for await (const status of kvm.list()) if (status.bucket.startsWith(`microswarm_${cluster}_`)) ours.push(status.bucket);
    for (const bucket of ours) await (await kvm.open(bucket)).destroy();
    return ours.length;
  } finally {
    await nc.close();
  }
}

// A hang (a node that never answers) ends the example instead of holding the terminal.
const watchdog = setTimeout(() => {
  console.error('failed: not done within 120 s');
  for (const n of nodes) n.child.kill('SIGKILL');
  process.exit(1);
}, 120_000);
watchdog.unref();

let ok = false;
try {
  ok = await main();
} catch (error) {
  console.error(`failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const n of nodes) if (n.alive) n.child.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.exited));
  if (nats !== undefined) {
    await nats.stop();
    console.log(`nats-server stopped, ${nats.dir} removed`);
  } else if (servers !== undefined) {
    await removeBuckets(servers).then(
      (count) => console.log(`removed the ${count} buckets of ${cluster} from the NATS_URL server`),
      (error: unknown) => console.error(`could not remove the buckets of ${cluster}: ${String(error)}`),
    );
  }
  clearTimeout(watchdog);
}
console.log(`${ok ? 'done' : 'FAILED'} in ${since(started)}`);
process.exitCode = ok ? 0 : 1;
