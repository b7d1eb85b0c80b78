/**
 * Joining a cluster from `Runtime.start`: refusals are typed errors that name
 * the server and never a credential; bad cluster options are refused before
 * anything connects; a runtime without `cluster` loads no NATS code at all.
 */
import { spawn } from 'node:child_process';
import { inspect } from 'node:util';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterConnectError, InvalidOptionError, Runtime } from '../src/index.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

let secured: NatsServer;

beforeAll(async () => {
  secured = await startNatsServer({ auth: { user: 'svc', pass: 's3cret-pass' } });
}, 30_000);

afterAll(async () => {
  await secured?.stop();
});

describe('Runtime.start with cluster', () => {
  it('fails with ClusterConnectError naming the server, without the password, when the credentials are wrong', async () => {
    const error = await Runtime.start({ threads: 1, cluster: { servers: secured.url, name: 'c1', node: 'n1', user: 'svc', pass: 'wrong-pass' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClusterConnectError);
    expect((error as ClusterConnectError).server).toBe(secured.url);
    expect(String((error as Error).message)).not.toMatch(/wrong-pass|s3cret/);
    // Credentials in the URL itself are stripped too.
    const inUrl = await Runtime.start({
      threads: 1,
      cluster: { servers: secured.url.replace('nats://', 'nats://svc:wrong-pass@'), name: 'c1', node: 'n1' },
    }).catch((e: unknown) => e);
    expect(inUrl).toBeInstanceOf(ClusterConnectError);
    expect(JSON.stringify({ m: (inUrl as Error).message, s: (inUrl as ClusterConnectError).server })).not.toMatch(/wrong-pass/);
    // A password holding '@' or '/' is not shown either (in part or whole).
    for (const pass of ['p@ss-x', 'pa/ss-x']) {
      const e = await Runtime.start({
        threads: 1,
        cluster: { servers: secured.url.replace('nats://', `nats://svc:${pass}@`), name: 'c1', node: 'n1' },
      }).catch((x: unknown) => x as ClusterConnectError);
      expect(e).toBeInstanceOf(ClusterConnectError);
      expect(JSON.stringify({ m: (e as Error).message, s: (e as ClusterConnectError).server })).not.toMatch(/ss-x|svc/);
    }
  });

  it('fails with ClusterConnectError when nothing listens at the server', async () => {
    const error = await Runtime.start({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', name: 'c1', node: 'n1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterConnectError);
    expect((error as ClusterConnectError).server).toBe('nats://127.0.0.1:1');
  });

  it('joins with the right credentials, reports itself a member, and leaves on shutdown', async () => {
    const rt = await Runtime.start({ threads: 1, cluster: { servers: secured.url, name: 'c1', node: 'solo', user: 'svc', pass: 's3cret-pass' } });
    try {
      expect(rt.cluster?.node).toBe('solo');
      expect(rt.cluster?.members().map((m) => m.node)).toEqual(['solo']);
      // Printing the runtime or its cluster shows no credential.
      expect(inspect(rt, { depth: 20 })).not.toContain('s3cret-pass');
      expect(inspect(rt.cluster, { depth: 20 })).not.toContain('s3cret-pass');
    } finally {
      await rt.shutdown();
    }
    // A second start in the same process works once the first left.
    const again = await Runtime.start({ threads: 1, cluster: { servers: secured.url, name: 'c1', node: 'solo', user: 'svc', pass: 's3cret-pass' } });
    await again.shutdown();
  });

  it('refuses bad cluster options with InvalidOptionError naming the option and the value', async () => {
    const bad = (cluster: unknown) => Runtime.start({ threads: 1, cluster: cluster as never });
    await expect(bad('nats://x')).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'cluster' });
    await expect(bad({ servers: [], name: 'c' })).rejects.toMatchObject({ option: 'cluster.servers' });
    await expect(bad({ servers: 'nats://u:p@h:1', name: 'c', node: 'a b' })).rejects.toMatchObject({ option: 'cluster.node', value: 'a b' });
    await expect(bad({ servers: secured.url, name: 'has.dot' })).rejects.toMatchObject({ option: 'cluster.name', value: 'has.dot' });
    await expect(bad({ servers: secured.url, name: 'c', heartbeatMs: 500, suspectAfterMs: 400 })).rejects.toMatchObject({
      option: 'cluster.suspectAfterMs',
    });
    await expect(bad({ servers: secured.url, name: 'c', downAfterMs: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(bad({ servers: secured.url, name: 'c', placement: 'random' })).rejects.toMatchObject({ option: 'cluster.placement', value: 'random' });
    // The password in a server URL is not echoed back.
    const e = (await bad({ servers: ['nats://u:topsecret@h:1', 7], name: 'c' }).catch((x: unknown) => x)) as InvalidOptionError;
    expect(JSON.stringify({ m: e.message, v: e.value })).not.toMatch(/topsecret/);
  });

  it('a runtime without cluster options loads no NATS and no cluster code', async () => {
    // A resolve hook that fails the process if anything under src/cluster/ or @nats-io/ is imported.
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { if (/@nats-io|\\/cluster\\//.test(s)) throw new Error("loaded " + s); return next(s, c); }',
    )}`;
    const run = async (options: string) => {
      const script = `
        import { register } from 'node:module';
        import { pathToFileURL } from 'node:url';
        register(${JSON.stringify(hook)});
        const { Runtime } = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
        const rt = await Runtime.start(${options});
        const ref = await rt.spawn(pathToFileURL(process.cwd() + '/test/fixtures/counter.ts'));
        ref.tell({ type: 'inc', by: 1 });
        await rt.shutdown();
        console.log('clean');`;
      // A file, not --eval: the pool threads inherit the process's flags, and --input-type is refused there.
      const file = join(await mkdtemp(join(tmpdir(), 'microswarm-load-')), 'probe.mjs');
      await writeFile(file, script);
      const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      return { out, code };
    };
    const plain = await run('{ threads: 1 }');
    expect(plain.out).toContain('clean');
    expect(plain.code).toBe(0);
    // The hook does catch it: the same script as a cluster node fails on the import.
    const clustered = await run("{ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', name: 'c', node: 'n' } }");
    expect(clustered.out).toMatch(/loaded .*cluster/);
    expect(clustered.code).not.toBe(0);
  }, 30_000);
});
