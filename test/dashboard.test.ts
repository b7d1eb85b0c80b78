/**
 * The live dashboard in a real browser: headless Chromium (Debian's
 * `chromium` package at /usr/bin/chromium, installed by .ci/run when
 * missing; never a browser download) driven by playwright-core. The page
 * loads with no console errors, its numbers move while actors work, the
 * actor table sorts, a killed thread shows in the feed, and a screenshot is
 * written to test/artifacts/dashboard.png (git-ignored) for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorRef, ObserveServer, RegionHandle, Runtime } from '../src/index.js';
import type { CounterMsg } from './fixtures/counter.js';
import type { MemoryMsg } from './fixtures/memory-agent.js';
import { keepBusy, useRuntime } from './fixtures/helpers.js';

const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const memoryUrl = new URL('./fixtures/memory-agent.ts', import.meta.url);
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

const start = useRuntime({ threads: 2 });

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
afterAll(async () => {
  await browser?.close();
});

/** The page's document, as far as the functions run in the page read it (this project's TypeScript has no DOM library). */
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { textContent: string | null } | null;
};

/** A page that records its console errors and uncaught exceptions. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, errors };
}

/** The numbers of one column of the actor table, top to bottom. */
function column(page: Page, cls: string): Promise<number[]> {
  return page.$$eval(`#actors tbody td.${cls}`, (cells) => cells.map((c) => Number((c.textContent ?? '').replace(/,/g, ''))));
}

describe('the dashboard', () => {
  let rt: Runtime;
  let server: ObserveServer;

  it('loads without console errors, shows live numbers, sorts, and shows a killed thread in the feed', async () => {
    rt = await start();
    const counters: Array<ActorRef<CounterMsg, number>> = [];
    for (let i = 0; i < 6; i++) {
      const ref = await rt.spawn<CounterMsg, number>(counterUrl, { start: 0 }, { name: `counter-${i}`, thread: i % 2 });
      // Distinct counts: (i + 1) * 10 messages each (plus the ask).
      for (let k = 0; k < (i + 1) * 10; k++) ref.tell({ type: 'inc', by: 1 });
      await ref.ask({ type: 'get' });
      counters.push(ref);
    }
    const stores: Array<ActorRef<MemoryMsg, RegionHandle>> = [];
    for (let i = 0; i < 3; i++) {
      const store = await rt.spawn<MemoryMsg, RegionHandle>(memoryUrl, undefined, { name: `store-${i}` });
      await store.ask({ type: 'alloc', bytes: (i + 1) * 3 * 65_536 });
      stores.push(store);
    }
    rt.swarm({ name: 'pricing', members: counters.slice(0, 5), topology: 'ring' });
    rt.swarm({ name: 'ingest', members: [counters[5], ...stores], topology: 'star' });
    server = await rt.serve({ intervalMs: 200 });
    const stopBusy = keepBusy(counters[5]);
    try {
      const { page, errors } = await openPage(server.url);
      await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1);
      expect(await page.textContent('[data-testid="connection"]')).toBe('live');
      expect(await page.$$eval('#threads tbody tr', (rows) => rows.length)).toBe(2);
      expect(await page.$$eval('#actors tbody tr', (rows) => rows.length)).toBe(9);
      expect(await page.$$eval('[data-swarm] circle.leader', (dots) => dots.length)).toBe(2);
      expect(await page.$$eval('#memory-grid span', (cells) => cells.filter((c) => c.style.background !== '').length)).toBe(18);

      // Live numbers: the total handled shown moves while counter-5 works.
      const first = await page.textContent('#total-handled');
      await page.waitForFunction((before) => document.getElementById('total-handled')?.textContent !== before, first);
      await page.waitForFunction(() => Number((document.getElementById('total-rate')?.textContent ?? '0').replace(/,/g, '')) > 0);
      // The handler p99 column: rt.serve registered metrics, so counter-5's handlers are timed.
      await page.waitForFunction(
        "[...document.querySelectorAll('#actors tbody tr')].some((row) => row.firstElementChild?.textContent === 'counter-5' && /^\\d/.test(row.querySelector('td.p99')?.textContent ?? ''))",
      );
      expect(await page.isVisible('#actors th.p99')).toBe(true);

      // Sorting: handled, descending then ascending; names ascending.
      await page.click('#actors th[data-sort="handled"]');
      const down = await column(page, 'handled');
      expect(down).toEqual([...down].sort((a, b) => b - a));
      expect(await page.getAttribute('#actors th[data-sort="handled"]', 'class')).toContain('sorted-desc');
      await page.click('#actors th[data-sort="handled"]');
      const up = await column(page, 'handled');
      expect(up).toEqual([...up].sort((a, b) => a - b));
      expect(up[0]).toBeLessThan(up.at(-1) as number);
      await page.click('#actors th[data-sort="ref"]');
      const names = await page.$$eval('#actors tbody tr td:first-child', (cells) => cells.map((c) => c.textContent ?? ''));
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
      // The order holds across the snapshots that follow.
      const seen = Number(await page.getAttribute('body', 'data-snapshots'));
      await page.waitForFunction((n) => Number(document.body.dataset.snapshots) >= n + 2, seen);
      expect(await page.$$eval('#actors tbody tr td:first-child', (cells) => cells.map((c) => c.textContent ?? ''))).toEqual(
        [...names].sort((a, b) => a.localeCompare(b)),
      );

      // A failure and a killed thread reach the feed.
      await counters[1].ask({ type: 'throw', message: 'shown on the dashboard' }).catch(() => undefined);
      await rt.killThread(1);
      await page.waitForSelector('#feed li[data-kind="crash"]');
      expect(await page.textContent('#feed li[data-kind="crash"] .subject')).toBe('thread 1');
      expect(await page.textContent('#feed li[data-kind="failure"] .text')).toBe('receive: Error: shown on the dashboard');
      await page.waitForSelector('#threads tr[data-thread="1"] .pill:text-is("running")');

      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await stopBusy();
      await server.close();
    }
  });
});
