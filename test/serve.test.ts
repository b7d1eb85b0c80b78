/**
 * Inspection and serving: `rt.inspect()` (what each part knows, joined into
 * one plain snapshot), `rt.serve()` (every route, bad options, the port
 * freed on close, server-sent events), `rt.observeHandler()` mounted in a
 * server of the test's own, and the built package serving the dashboard.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ActorRef, InvalidOptionError, type InspectSnapshot, type ObserveHandler, type RegionHandle, ServeError } from '../src/index.js';
import type { BusyMsg } from './fixtures/busy.js';
import type { CounterMsg } from './fixtures/counter.js';
import type { CrashyMsg } from './fixtures/crashy.js';
import type { MemoryMsg } from './fixtures/memory-agent.js';
import { eventually, guarded, useRuntime } from './fixtures/helpers.js';

const busyUrl = new URL('./fixtures/busy.ts', import.meta.url);
const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);
const memoryUrl = new URL('./fixtures/memory-agent.ts', import.meta.url);
const plainUrl = new URL('./fixtures/plain.ts', import.meta.url);
const threadSetupUrl = new URL('./fixtures/thread-setup.ts', import.meta.url);

const start = useRuntime({ threads: 2 });

/** Reads server-sent events from `url` until `done` holds for the events so far (a hang guard bounds it). */
async function readEvents(
  url: string,
  done: (events: Array<{ event: string; data: unknown }>) => boolean,
): Promise<Array<{ event: string; data: unknown }>> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  try {
    await guarded(
      (async () => {
        while (!done(events)) {
          const { value, done: ended } = await reader.read();
          if (ended) throw new Error('the event stream ended');
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
          }
        }
      })(),
      10_000,
      'server-sent events',
    );
  } finally {
    controller.abort();
  }
  return events;
}

/** True when something can listen on `port` of 127.0.0.1 now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('rt.inspect()', () => {
  it('joins threads, actors, swarms, memory and the scheduler into one plain snapshot', async () => {
    const rt = await start();
    const a = await rt.spawn<CounterMsg, number>(counterUrl, { start: 0 }, { name: 'alpha', thread: 0 });
    const b = await rt.spawn<CounterMsg, number>(counterUrl, undefined, { thread: 1 });
    const mem = await rt.spawn<MemoryMsg, RegionHandle>(memoryUrl, undefined, { thread: 1 });
    // counter.ts's handler is async, plain.ts's is not: messages handled are counted on both paths.
    const sync = await rt.spawn<{ type: 'inc' | 'get' }, number>(plainUrl, undefined, { thread: 0 });
    for (let i = 0; i < 7; i++) sync.tell({ type: 'inc' });
    expect(await sync.ask({ type: 'get' })).toBe(7);
    for (let i = 0; i < 25; i++) a.tell({ type: 'inc', by: 1 });
    expect(await a.ask({ type: 'get' })).toBe(25);
    await b.ask({ type: 'get' });
    const handle = (await mem.ask({ type: 'alloc', bytes: 200_000 })) as RegionHandle;
    const swarm = rt.swarm({ name: 'trio', members: [a, b, mem], topology: 'ring' });

    const snapshot = await rt.inspect();
    // Plain data: survives JSON unchanged (but for the scheduler's percentiles of nothing yet: NaN, null in JSON).
    const { scheduler, ...rest } = snapshot;
    expect(JSON.parse(JSON.stringify(rest))).toEqual(rest);
    expect(JSON.parse(JSON.stringify(scheduler)).waitMs).toEqual({ count: 0, p50: null, p90: null, p99: null });
    expect(snapshot.threads.map((t) => [t.thread, t.status, t.actors])).toEqual([
      [0, 'running', 2],
      [1, 'running', 2],
    ]);
    for (const t of snapshot.threads) {
      expect(t.elu).toBeGreaterThanOrEqual(0);
      expect(t.elu).toBeLessThanOrEqual(1);
      expect(t.ringFill).toBeGreaterThanOrEqual(0);
      expect(t.responseMs).toBeGreaterThan(0);
    }
    const alpha = snapshot.actors.find((x) => x.slot === a.slot);
    expect(alpha).toMatchObject({ ref: a.toString(), name: 'alpha', module: counterUrl.href, thread: 0, handled: 26, restarts: 0, parent: null });
    expect(snapshot.actors.find((x) => x.slot === b.slot)).toMatchObject({ name: null, thread: 1, handled: 1, mailbox: 0 });
    expect(snapshot.actors.find((x) => x.slot === sync.slot)).toMatchObject({ handled: 8, status: 'idle' });
    expect(snapshot.actors).toHaveLength(4);
    expect(snapshot.threads[0].handled).toBe(26 + 8);
    expect(snapshot.totals).toMatchObject({ liveActors: 4, handled: snapshot.threads[0].handled + snapshot.threads[1].handled });
    expect(snapshot.swarms).toEqual([
      {
        name: 'trio',
        topology: 'ring',
        fanout: 4,
        members: [a, b, mem].map(String),
        leader: String(a),
        term: swarm.leader()?.term,
        edges: [
          [0, 1],
          [0, 2],
          [1, 2],
        ],
      },
    ]);
    const owned = snapshot.memory.map.filter((m) => m.owner === mem.slot);
    expect(owned).toEqual([{ head: handle.region, run: Math.ceil(200_000 / snapshot.memory.regionSize), owner: mem.slot, borrowers: 0 }]);
    expect(snapshot.memory.used).toBe(owned[0].run * snapshot.memory.regionSize);
    expect(snapshot.scheduler.queued).toEqual({ critical: 0, high: 0, normal: 0, low: 0 });
  });

  it('counts restarts, and rates over the last second', async () => {
    const rt = await start();
    const a = await rt.spawn<CounterMsg, number>(counterUrl);
    await expect(a.ask({ type: 'throw', message: 'on purpose' })).rejects.toThrow('on purpose');
    await eventually(
      () => rt.inspect(),
      (s) => s.actors[0]?.restarts === 1,
    );
    // A second snapshot a window after the first sees the messages between them as a rate.
    await rt.inspect();
    for (let i = 0; i < 200; i++) a.tell({ type: 'inc', by: 1 });
    await a.ask({ type: 'get' });
    const later = await eventually(
      () => rt.inspect(),
      (s) => s.actors[0].rate > 0,
    );
    expect(later.totals.rate).toBeGreaterThan(0);
    expect(later.threads.reduce((sum, t) => sum + t.rate, 0)).toBeCloseTo(later.totals.rate, 0);
  });

  it('gives each actor its handler p99 once handlers are timed, null before', async () => {
    const rt = await start();
    const slow = await rt.spawn<BusyMsg, number>(busyUrl, undefined, { name: 'slow', thread: 0 });
    const quick = await rt.spawn<BusyMsg, number>(busyUrl, undefined, { name: 'quick', thread: 1 });
    const spins = async (ref: ActorRef<BusyMsg, number>, us: number, n: number) => {
      for (let i = 0; i < n; i++) ref.tell({ type: 'spin', us });
      await ref.ask({ type: 'handled' });
    };
    await spins(slow, 0, 20);
    const untimed = await rt.inspect();
    expect(untimed.actors.map((a) => [a.name, a.p99])).toEqual([
      ['slow', null],
      ['quick', null],
    ]);
    await rt.metrics(undefined, { sampleEvery: 1 });
    // A thread that ran with metrics off looks at the sampling rate again
    // within 4096 messages (engine/metering.ts): these get it there.
    await spins(slow, 0, 4_100);
    await spins(quick, 0, 4_100);
    await spins(slow, 5_000, 130); // more than the 128 kept: the zero spins are gone
    await spins(quick, 0, 30);
    const timed = await rt.inspect();
    const p99 = Object.fromEntries(timed.actors.map((a) => [a.name, a.p99]));
    // Each p99 is of its own actor's handlers: 5 ms spins on one, none on the other.
    expect(p99.slow).toBeGreaterThanOrEqual(5);
    expect(p99.quick).toBeLessThan(p99.slow);
  });

  it('starts the counts of a reused slot from zero', async () => {
    const rt = await start();
    const first = await rt.spawn<CounterMsg, number>(counterUrl, undefined, { thread: 0 });
    for (let i = 0; i < 10; i++) first.tell({ type: 'inc', by: 1 });
    await first.ask({ type: 'throw', message: 'restart me' }).catch(() => undefined);
    await eventually(
      () => rt.inspect(),
      (s) => s.actors[0]?.restarts === 1,
    );
    await rt.stop(first);
    const second = await rt.spawn<CounterMsg, number>(counterUrl, undefined, { thread: 0 });
    expect(second.slot).toBe(first.slot);
    await second.ask({ type: 'get' });
    expect((await rt.inspect()).actors).toEqual([expect.objectContaining({ slot: first.slot, gen: second.gen, handled: 1, restarts: 0 })]);
  });

  it('lists a thread that does not answer as unresponsive, with its actors from shared memory', async () => {
    const rt = await start();
    const blocker = await rt.spawn<CrashyMsg>(crashyUrl, undefined, { thread: 1, name: 'blocker' });
    const channel = `serve-test-block-${process.pid}`;
    const { BroadcastChannel } = await import('node:worker_threads');
    const port = new BroadcastChannel(channel);
    const blocked = new Promise((resolve) => (port.onmessage = resolve));
    blocker.tell({ type: 'block', ms: 2500, channel });
    await blocked;
    port.close();
    // Long enough for the idle thread 0 to answer on a loaded machine, well inside thread 1's block.
    const snapshot = await rt.inspect({ timeoutMs: 800 });
    expect(snapshot.threads[1]).toMatchObject({ status: 'unresponsive', responseMs: null });
    expect(snapshot.threads[0].status).toBe('running');
    expect(snapshot.actors).toEqual([
      expect.objectContaining({ slot: blocker.slot, name: 'blocker', module: crashyUrl.href, thread: 1, status: 'running' }),
    ]);
  });

  it('lists at most actorsPerThread of each thread, the deepest mailboxes first', async () => {
    const rt = await start();
    const refs: Array<ActorRef<CounterMsg>> = [];
    for (let i = 0; i < 4; i++) refs.push(await rt.spawn<CounterMsg>(counterUrl, undefined, { thread: 0 }));
    await rt.suspend(refs[2]);
    for (let i = 0; i < 5; i++) refs[2].tell({ type: 'inc', by: 1 });
    const snapshot = await eventually(
      () => rt.inspect({ actorsPerThread: 1 }),
      (s) => s.actors[0]?.mailbox === 5,
    );
    expect(snapshot.actors).toEqual([expect.objectContaining({ slot: refs[2].slot, status: 'suspended', mailbox: 5 })]);
    expect(snapshot.actorsNotListed).toBe(3);
  });

  it('rejects bad options with InvalidOptionError, and a closed runtime', async () => {
    const rt = await start();
    await expect(rt.inspect({ actorsPerThread: -1 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'actorsPerThread', value: -1 });
    await expect(rt.inspect({ timeoutMs: 0 })).rejects.toMatchObject({ option: 'timeoutMs' });
    await expect(rt.inspect({ limit: 3 } as never)).rejects.toMatchObject({ option: 'limit' });
    await expect(rt.inspect('all' as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await rt.shutdown();
    await expect(rt.inspect()).rejects.toMatchObject({ name: 'RuntimeClosedError' });
  });
});

describe('rt.serve()', () => {
  it('serves every route', async () => {
    const rt = await start();
    const a = await rt.spawn<CounterMsg, number>(counterUrl, undefined, { name: 'served' });
    await a.ask({ type: 'get' });
    const server = await rt.serve({ port: 0 });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);

    const health = await get('healthz');
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const ready = await get('readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { open: true, threads: true } });
    const inspect = await get('inspect');
    expect(inspect.headers.get('content-type')).toContain('application/json');
    const snapshot = (await inspect.json()) as InspectSnapshot;
    expect(snapshot.actors.map((x) => x.name)).toEqual(['served']);
    // rt.metrics(), registered on the first scrape: Prometheus text with this runtime's counts.
    const metrics = await get('metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^microswarm_actors_live\{module="[^"]+"\} 1$/m);
    const page = await get('');
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script src="dashboard.js"></script>');
    for (const [path, type] of [
      ['dashboard.js', 'text/javascript'],
      ['dashboard.css', 'text/css'],
      ['uplot.js', 'text/javascript'],
      ['uplot.css', 'text/css'],
    ]) {
      const res = await get(path);
      expect([path, res.status, res.headers.get('content-type')?.split(';')[0]]).toEqual([path, 200, type]);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    expect((await get('uplot.js').then((r) => r.text())).includes('uPlot')).toBe(true);
    expect((await get('nothing-here')).status).toBe(404);
    const post = await get('inspect', { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await get('healthz', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    await server.close();
  });

  it('uses rt.metrics when the runtime has it, registered once', async () => {
    const rt = await start();
    let registrations = 0;
    let scrapes = 0;
    // What the metrics part provides: rt.metrics() registers collectors and resolves to their registry.
    const registry = { metrics: async () => `# scrape ${++scrapes}\nmicroswarm_up 1\n` };
    const metrics = async () => {
      registrations++;
      return registry;
    };
    Object.defineProperty(rt, 'metrics', { value: metrics, configurable: true });
    const server = await rt.serve();
    const first = await fetch(new URL('metrics', server.url));
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await first.text()).toBe('# scrape 1\nmicroswarm_up 1\n');
    expect(await (await fetch(new URL('metrics', server.url))).text()).toBe('# scrape 2\nmicroswarm_up 1\n');
    expect(registrations).toBe(1);
  });

  it('is not ready while a pool thread is down', async () => {
    const rt = await start({ threadSetup: threadSetupUrl, standbyThreads: 0 });
    const server = await rt.serve();
    process.env.MICROSWARM_TEST_SETUP_FAIL = '1'; // the replacement fails its setup: thread 0 stays down
    try {
      await rt.killThread(0).catch(() => undefined);
    } finally {
      delete process.env.MICROSWARM_TEST_SETUP_FAIL;
    }
    const res = await fetch(new URL('readyz', server.url));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { open: true, threads: 'thread 0 down' } });
    expect((await fetch(new URL('healthz', server.url))).status).toBe(200);
    const snapshot = (await (await fetch(new URL('inspect', server.url))).json()) as InspectSnapshot;
    expect(snapshot.threads[0]).toMatchObject({ status: 'down', elu: null, responseMs: null });
  });

  it('rejects bad options with InvalidOptionError naming the option and the value', async () => {
    const rt = await start();
    await expect(rt.serve({ port: -1 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'port', value: -1 });
    await expect(rt.serve({ port: 65536 })).rejects.toMatchObject({ option: 'port', value: 65536 });
    await expect(rt.serve({ port: 80.5 })).rejects.toMatchObject({ option: 'port' });
    await expect(rt.serve({ port: '8080' as never })).rejects.toMatchObject({ option: 'port', value: '8080' });
    await expect(rt.serve({ host: '' })).rejects.toMatchObject({ option: 'host' });
    await expect(rt.serve({ intervalMs: 5 })).rejects.toMatchObject({ option: 'intervalMs', value: 5 });
    await expect(rt.serve({ prot: 1 } as never)).rejects.toMatchObject({ option: 'prot' });
    await expect(rt.serve(null as never)).rejects.toMatchObject({ option: 'options' });
    const err = (await rt.serve({ port: -1 }).catch((e: unknown) => e)) as InvalidOptionError;
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toContain('`port`');
    expect(err.message).toContain('`-1` (number)');
  });

  it('rejects with ServeError when the port is taken', async () => {
    const rt = await start();
    const first = await rt.serve();
    const err = await rt.serve({ port: first.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServeError);
    expect(err).toMatchObject({ host: '127.0.0.1', port: first.port });
    expect((err as Error).message).toContain('EADDRINUSE');
    await first.close();
  });

  it('frees the port on close, with an event stream open', async () => {
    const rt = await start();
    const server = await rt.serve();
    const stream = await fetch(new URL('events', server.url));
    expect(await portFree(server.port)).toBe(false);
    await server.close();
    await server.close(); // again: nothing more
    expect(await portFree(server.port)).toBe(true);
    await expect(stream.text()).resolves.toBeTypeOf('string'); // the stream ended with the server
  });

  it('is closed by rt.shutdown()', async () => {
    const rt = await start();
    const server = await rt.serve();
    await rt.shutdown();
    expect(await portFree(server.port)).toBe(true);
    await expect(rt.serve()).rejects.toMatchObject({ name: 'RuntimeClosedError' });
  });

  it('pushes snapshots and a feed of failures, crashes and dead letters over server-sent events', async () => {
    const rt = await start();
    const a = await rt.spawn<CounterMsg, number>(counterUrl, undefined, { name: 'feeder', thread: 0 });
    const server = await rt.serve({ intervalMs: 100 });
    const url = new URL('events', server.url).href;
    const failed = a.ask({ type: 'throw', message: 'for the feed' }).catch(() => undefined);
    const events = await readEvents(url, (list) => {
      const snapshots = list.filter((e) => e.event === 'snapshot') as Array<{ data: InspectSnapshot }>;
      // Live numbers: a later snapshot sees more messages handled than an earlier one.
      if (snapshots.length === 1) for (let i = 0; i < 10; i++) a.tell({ type: 'inc', by: 1 });
      return snapshots.length >= 2 && snapshots.at(-1)!.data.totals.handled > snapshots[0].data.totals.handled;
    });
    await failed;
    expect(events[0].event).toBe('feed'); // what happened before the page connected comes first
    // A crash and a dead letter reach a page that connects after them, in order.
    await rt.killThread(1);
    await rt.stop(a);
    a.tell({ type: 'inc', by: 1 });
    const later = await readEvents(url, (list) =>
      list.some((e) => e.event === 'feed' && (e.data as unknown[]).some((i) => (i as { kind: string }).kind === 'dead-letter')),
    );
    const feed = later.filter((e) => e.event === 'feed').flatMap((e) => e.data as Array<{ id: number; kind: string; subject: string; text: string }>);
    expect(feed.map((i) => i.kind)).toEqual(['failure', 'crash', 'dead-letter']);
    expect(feed[0]).toMatchObject({ subject: String(a), text: 'receive: Error: for the feed' });
    expect(feed[1]).toMatchObject({ subject: 'thread 1' });
    expect(feed[1].text).toMatch(/^exited: replaced in \d+ ms, 0 actors back, 0 lost$/);
    expect(feed[2]).toMatchObject({ subject: String(a), text: 'stopped' });
    expect(feed.map((i) => i.id)).toEqual([1, 2, 3]);
  });
});

describe('rt.observeHandler()', () => {
  /** Runs `body` against `server` listening on a free port, then closes it and `handler`. */
  async function withServer(server: Server, handler: ObserveHandler, body: (base: string) => Promise<void>): Promise<void> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    try {
      await body(`http://127.0.0.1:${address.port}`);
    } finally {
      handler.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('mounts the routes under a prefix in a node:http server, and leaves other paths to it', async () => {
    const rt = await start();
    const handler = await rt.observeHandler({ prefix: '/observe' });
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/observe')) handler(req, res);
      else res.end('app');
    });
    await withServer(server, handler, async (base) => {
      expect(await (await fetch(`${base}/observe/healthz`)).text()).toBe('ok\n');
      expect((await fetch(`${base}/observe/inspect`)).status).toBe(200);
      // The page's links are relative: /observe is sent to /observe/.
      const bare = await fetch(`${base}/observe`, { redirect: 'manual' });
      expect([bare.status, bare.headers.get('location')]).toEqual([308, '/observe/']);
      expect(await (await fetch(`${base}/observe/`)).text()).toContain('microswarm');
      expect((await fetch(`${base}/observer`)).status).toBe(404); // not under the prefix
      expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('app');
    });
  });

  it('calls next for paths it does not serve (express style), with the mount path stripped', async () => {
    const rt = await start();
    const handler = await rt.observeHandler();
    let passed = 0;
    // What express does for app.use('/observe', handler): req.url without the mount path, originalUrl with it.
    const server = createServer((req, res) => {
      const originalUrl = req.url ?? '/';
      if (!originalUrl.startsWith('/observe')) return res.end('app');
      Object.assign(req, { originalUrl, url: originalUrl.slice('/observe'.length) || '/' });
      handler(req, res, () => {
        passed++;
        res.end('next');
      });
    });
    await withServer(server, handler, async (base) => {
      expect(await (await fetch(`${base}/observe/readyz`)).json()).toMatchObject({ ready: true });
      expect(await (await fetch(`${base}/observe/unknown`)).text()).toBe('next');
      expect(passed).toBe(1);
      const bare = await fetch(`${base}/observe`, { redirect: 'manual' });
      expect([bare.status, bare.headers.get('location')]).toEqual([308, '/observe/']);
    });
  });

  it('rejects bad options', async () => {
    const rt = await start();
    await expect(rt.observeHandler({ prefix: 'observe' })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'prefix', value: 'observe' });
    await expect(rt.observeHandler({ prefix: '/observe/' })).rejects.toMatchObject({ option: 'prefix' });
    await expect(rt.observeHandler({ port: 1 } as never)).rejects.toMatchObject({ option: 'port' });
  });
});

describe('the built package', () => {
  it('serves the dashboard and uPlot from dist/ with plain node', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const script = fileURLToPath(new URL('./fixtures/dist-serve.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // a hang guard
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(guard);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ page: 200, script: 200, styles: 200, uplot: 200, inspect: 1 });
  });
});
