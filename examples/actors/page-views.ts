/**
 * A cluster entity for examples/cluster.ts: the views of one page (its key),
 * counted by the node each view came from. It has snapshot/restore, so the
 * node that holds it writes its snapshot to JetStream after the messages it
 * handles, and a new activation (after its node died, on another node)
 * starts from the last one written instead of from `init`.
 */
import { defineActor } from '../../src/actor.js';

export type PageViewsMsg = { type: 'view'; from: string } | { type: 'views' };

/** The answer to `views`: the counts, and the process the entity answered from. */
export interface PageViews {
  page: string;
  total: number;
  byNode: Record<string, number>;
  pid: number;
}

interface State {
  page: string;
  byNode: Record<string, number>;
}

const total = (state: State): number => Object.values(state.byNode).reduce((sum, n) => sum + n, 0);

export default defineActor({
  // An entity's init gets its key.
  init: (args: { key: string }): State => ({ page: args.key, byNode: {} }),
  receive(state: State, msg: PageViewsMsg): number | PageViews {
    if (msg.type === 'view') {
      state.byNode[msg.from] = (state.byNode[msg.from] ?? 0) + 1;
      return total(state);
    }
    return { page: state.page, total: total(state), byNode: { ...state.byNode }, pid: process.pid };
  },
  snapshot: (state: State) => state,
  restore: (data: unknown): State => data as State,
});
