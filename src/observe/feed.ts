/**
 * The feed of failures, crashes and dead letters the dashboard shows, and
 * the server-sent-event stream (`/events`) that pushes it with snapshots.
 *
 * Bounded everywhere: the last `kRecent` items are kept for a page that
 * connects later; items are sent in batches every `kFlushMs`, at most
 * `kBatch` a batch (a flood of dead letters becomes one "n more" line, not a
 * flood of writes); a client whose socket does not drain is skipped until it
 * does. One snapshot per interval serves every client, and none is taken
 * while nobody listens.
 */
import type { ServerResponse } from 'node:http';
import type { FeedItem, ObserveSource } from './source.js';

const kRecent = 100;
const kBatch = 50;
const kFlushMs = 250;

/** @internal The feed and its SSE clients. */
export class EventStream {
  private readonly source: ObserveSource;
  private readonly intervalMs: number;
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: FeedItem[] = [];
  private pending: FeedItem[] = [];
  private dropped = 0;
  private readonly unsubscribe: () => void;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private snapshotting = false;
  private numbered = 0;

  constructor(source: ObserveSource, intervalMs: number) {
    this.source = source;
    this.intervalMs = intervalMs;
    this.unsubscribe = source.onFeed((item) => this.add(item));
  }

  private add(event: Omit<FeedItem, 'id'>): void {
    const item = { id: ++this.numbered, ...event };
    this.recent.push(item);
    if (this.recent.length > kRecent) this.recent.shift();
    if (this.clients.size === 0) return;
    if (this.pending.length < kBatch) this.pending.push(item);
    else this.dropped++;
    this.flushTimer ??= setTimeout(() => this.flush(), kFlushMs);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const items = this.pending;
    if (this.dropped > 0) items.push({ id: 0, at: Date.now(), kind: 'dead-letter', subject: 'feed', text: `${this.dropped} more events not shown` });
    this.pending = [];
    this.dropped = 0;
    this.broadcast('feed', items);
  }

  /** Serves one `/events` client until it disconnects. */
  attach(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimers();
    });
    send(res, 'feed', this.recent);
    this.snapshotTimer ??= setInterval(() => void this.snapshot(), this.intervalMs);
    void this.snapshot();
  }

  private async snapshot(): Promise<void> {
    // A slow snapshot (a thread not answering) is not stacked on.
    if (this.snapshotting) return;
    this.snapshotting = true;
    try {
      this.broadcast('snapshot', await this.source.inspect());
    } catch (err) {
      this.broadcast('problem', { message: err instanceof Error ? err.message : String(err) });
    } finally {
      this.snapshotting = false;
    }
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = frame(event, data);
    for (const res of this.clients) if (!res.writableNeedDrain) res.write(text);
  }

  private stopTimers(): void {
    if (this.snapshotTimer !== undefined) clearInterval(this.snapshotTimer);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.snapshotTimer = undefined;
    this.flushTimer = undefined;
    this.pending = [];
    this.dropped = 0;
  }

  /** Ends every stream and stops listening to the runtime. */
  close(): void {
    this.unsubscribe();
    this.stopTimers();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(frame(event, data));
}
