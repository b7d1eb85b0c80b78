/**
 * The thread side of `rt.inspect()`: what only the heap of the thread
 * hosting an actor knows (its module, its name, its mailbox length, whether
 * it is suspended, failed, busy or moving). The main thread asks each pool
 * thread with an `inspect` control request (host.ts) and joins the answer
 * with the shared directory and the per-actor counts.
 *
 * Walked between turns, from the thread's event loop, once per snapshot: it
 * costs the thread a pass over its cells, nothing per message.
 */
import type { Cell } from '../actors/cell.js';
import type { ActorCounts } from '../transport/actor-counts.js';

/** @internal What a cell's flags say about it, most telling first. */
type CellStatus = 'starting' | 'failed' | 'suspended' | 'migrating' | 'stopping' | 'busy' | 'running' | 'idle';

/** @internal One actor as its thread sees it: plain data (crosses threads through the codec). */
export interface CellReport {
  slot: number;
  gen: number;
  name: string | undefined;
  module: string;
  /** Messages in its heap mailbox now. */
  mailbox: number;
  status: CellStatus;
  /** The slot of its parent (-1: spawned by the main thread). */
  parent: number;
  /** Its handler time p99 in ms over its recent timed handlers (../actors/handler-times.ts), null with too few. */
  p99: number | null;
}

function statusOf(cell: Cell): CellStatus {
  if (!cell.started) return 'starting';
  if (cell.stopRequested) return 'stopping';
  if (cell.failed) return 'failed';
  if (cell.suspended) return 'suspended';
  if (cell.migrating) return 'migrating';
  if (cell.busy) return 'busy';
  return cell.mailbox.length > 0 ? 'running' : 'idle';
}

/**
 * @internal The live actors hosted by the thread whose cells these are: all
 * of them when there are at most `limit`, else the `limit` with the deepest
 * mailboxes (then the most messages handled), and how many there are.
 */
export function inspectCells(cells: ReadonlyArray<Cell | undefined>, counts: ActorCounts, limit: number): { cells: CellReport[]; total: number } {
  const out: CellReport[] = [];
  for (const cell of cells) {
    if (cell === undefined || cell.stopped) continue;
    out.push({
      slot: cell.slot,
      gen: cell.gen,
      name: cell.ref.name,
      module: cell.moduleUrl,
      mailbox: cell.mailbox.length,
      status: statusOf(cell),
      parent: cell.parent?.slot ?? -1,
      p99: cell.handlerTimes?.p99Ms() ?? null,
    });
  }
  const total = out.length;
  if (total > limit) {
    out.sort((a, b) => b.mailbox - a.mailbox || counts.handledBy(b.slot) - counts.handledBy(a.slot));
    out.length = limit;
  }
  return { cells: out, total };
}
