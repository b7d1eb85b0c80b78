/**
 * One node of `npm run example:cluster`: examples/cluster.ts forks three of
 * these. Each starts a runtime that joins the cluster named in its argv
 * (NATS server URL, cluster name, node name) and does what the parent asks
 * over IPC: every answer is `{ id, ok, value }` or `{ id, ok: false, error }`.
 */
import { Runtime } from '../src/index.js';
import type { PageViews, PageViewsMsg } from './actors/page-views.js';

export type NodeCommand =
  /** A view of every page from this node: told (fire and forget) or asked (answered once counted). */
  | { cmd: 'view'; pages: string[]; how: 'tell' | 'ask' }
  /** Every page's views, each asked again until it answers (an entity whose node died answers once activated elsewhere). */
  | { cmd: 'views'; pages: string[] }
  | { cmd: 'stats' }
  | { cmd: 'shutdown' };

export interface NodeStats {
  /** The members this node sees. */
  members: string[];
  /** Entity checkpoints written here, and leases taken over here from a node that died. */
  checkpoints: number;
  takenOver: number;
}

const [servers, cluster, node] = process.argv.slice(2);
const rt = await Runtime.start({ threads: 1, cluster: { servers, name: cluster, node } });
const pageViews = new URL('./actors/page-views.ts', import.meta.url);
const page = (key: string) => rt.entity<PageViewsMsg, number | PageViews>(pageViews, key);

/** Short asks, retried: one to a node that died fails (timeout, or NodeUnreachableError once it is declared down). */
async function viewsOf(key: string): Promise<{ views: PageViews; retries: number }> {
  const deadline = performance.now() + 20_000;
  for (let retries = 0; ; retries++) {
    try {
      return { views: (await page(key).ask({ type: 'views' }, { timeoutMs: 500 })) as PageViews, retries };
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

let leaving = false;

async function run(c: NodeCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'view':
      if (c.how === 'tell') for (const key of c.pages) page(key).tell({ type: 'view', from: node });
      else await Promise.all(c.pages.map((key) => page(key).ask({ type: 'view', from: node })));
      return c.pages.length;
    case 'views': {
      const answers = await Promise.all(c.pages.map(viewsOf));
      return { views: answers.map((a) => a.views), retries: answers.reduce((sum, a) => sum + a.retries, 0) };
    }
    case 'stats': {
      const { checkpoints, takenOver } = rt.cluster!.stats().entities;
      return { members: rt.cluster!.members().map((m) => m.node), checkpoints, takenOver } satisfies NodeStats;
    }
    case 'shutdown':
      leaving = true;
      await rt.shutdown(); // its entities are checkpointed and their leases released
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (raw) => {
  const { id, ...command } = raw as { id: number } & NodeCommand;
  run(command as NodeCommand).then(
    (value) => process.send?.({ id, ok: true, value }),
    (error: unknown) => process.send?.({ id, ok: false, error: String(error instanceof Error ? error.message : error) }),
  );
});
// The parent gone (it failed): leave the cluster rather than linger.
process.on('disconnect', () => {
  if (!leaving) void rt.shutdown().finally(() => process.exit(1));
});
process.send?.({ ready: true });
