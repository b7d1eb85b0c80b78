/**
 * The `nact` impl of the Savina cases: the same actors and messages as the
 * plain and microswarm impls, as nact actors in a new actor system per run
 * (on the main thread; nact has no threads). Refs travel in the messages
 * (nact has no implicit sender). A run ends when its last actor calls
 * `finish`; the system is then stopped.
 */
import { dispatch, spawn, start, stop, type Ref } from 'nact';
import { performComputation, SeededRandom, type SavinaCase, type SavinaPeer, type SavinaSizes } from './savina-shape.js';

type System = ReturnType<typeof start>;
type Done = (answer: string) => void;
// nact's context type is not exported in a usable form; the handlers use `self` only.
type Ctx = { self: Ref<unknown> };

function pingpong(system: System, { pings }: SavinaSizes['pingpong'], done: Done): void {
  const pong = spawn(
    system,
    (state: { count: number }, msg: { type: 'ping'; sender: Ref<unknown> } | { type: 'stop' }) => {
      if (msg.type === 'ping') {
        dispatch(msg.sender, { type: 'pong' });
        return { count: state.count + 1 };
      }
      done(String(state.count));
      return state;
    },
    'pong',
    { initialState: { count: 0 } },
  );
  const ping = spawn(
    system,
    (state: { left: number }, msg: { type: 'start' | 'ping' | 'pong' }, ctx: Ctx) => {
      if (msg.type === 'pong') {
        if (state.left > 0) dispatch(ctx.self, { type: 'ping' });
        else dispatch(pong, { type: 'stop' });
        return state;
      }
      dispatch(pong, { type: 'ping', sender: ctx.self });
      return { left: state.left - 1 };
    },
    'ping',
    { initialState: { left: pings } },
  );
  dispatch(ping, { type: 'start' });
}

function threadring(system: System, { actors, hops }: SavinaSizes['threadring'], done: Done): void {
  let zero = -1;
  let exits = 0;
  type RingMsg = { type: 'data'; next: Ref<RingMsg> } | { type: 'ping'; left: number } | { type: 'exit'; left: number };
  const ring = Array.from({ length: actors }, (_, id) =>
    spawn(
      system,
      (state: { next?: Ref<RingMsg> }, msg: RingMsg) => {
        if (msg.type === 'data') return { next: msg.next };
        const next = state.next as Ref<RingMsg>;
        if (msg.type === 'ping') {
          if (msg.left > 0) dispatch(next, { type: 'ping', left: msg.left - 1 });
          else {
            zero = id;
            dispatch(next, { type: 'exit', left: actors });
          }
          return state;
        }
        exits++;
        if (msg.left > 1) dispatch(next, { type: 'exit', left: msg.left - 1 });
        else done(`${zero}/${exits}`);
        return state;
      },
      `ring-${id}`,
      { initialState: {} },
    ),
  );
  // Each actor's mailbox is FIFO and the data message is dispatched first.
  ring.forEach((actor, i) => dispatch(actor, { type: 'data', next: ring[(i + 1) % actors] }));
  dispatch(ring[0], { type: 'ping', left: hops });
}

function counting(system: System, { messages }: SavinaSizes['counting'], done: Done): void {
  const counter = spawn(
    system,
    (state: { count: number }, msg: { type: 'inc' } | { type: 'retrieve'; sender: Ref<unknown> }) => {
      if (msg.type === 'inc') return { count: state.count + 1 };
      dispatch(msg.sender, { type: 'result', count: state.count });
      return state;
    },
    'counter',
    { initialState: { count: 0 } },
  );
  const producer = spawn(
    system,
    (state: object, msg: { type: 'start' } | { type: 'result'; count: number }, ctx: Ctx) => {
      if (msg.type === 'result') done(String(msg.count));
      else {
        for (let i = 0; i < messages; i++) dispatch(counter, { type: 'inc' });
        dispatch(counter, { type: 'retrieve', sender: ctx.self });
      }
      return state;
    },
    'producer',
    { initialState: {} },
  );
  dispatch(producer, { type: 'start' });
}

function fjthroughput(system: System, { actors, messages }: SavinaSizes['fjthroughput'], done: Done): void {
  let finished = 0;
  const workers = Array.from({ length: actors }, (_, id) =>
    spawn(
      system,
      (state: { processed: number }) => {
        const processed = state.processed + 1;
        performComputation(37.2);
        if (processed === messages && ++finished === actors) done(`${finished}x${processed}`);
        return { processed };
      },
      `worker-${id}`,
      { initialState: { processed: 0 } },
    ),
  );
  const message = { type: 'work' };
  for (let m = 0; m < messages; m++) for (const worker of workers) dispatch(worker, message);
}

function fjcreation(system: System, { actors }: SavinaSizes['fjcreation'], done: Done): void {
  let finished = 0;
  const message = { type: 'work' };
  for (let i = 0; i < actors; i++) {
    const worker = spawn(
      system,
      (state: object, _msg: unknown, ctx: Ctx) => {
        performComputation(37.2);
        if (++finished === actors) done(String(finished));
        stop(ctx.self);
        return state;
      },
      `worker-${i}`,
      { initialState: {} },
    );
    dispatch(worker, message);
  }
}

type FibMsg = { type: 'request'; n: number } | { type: 'response'; value: number };

function spawnFib(parent: System | Ref<FibMsg>, name: string, replyTo: Ref<FibMsg> | undefined, done: Done): Ref<FibMsg> {
  return spawn(
    parent as Ref<FibMsg>,
    (state: { result: number; received: number }, msg: FibMsg, ctx: Ctx) => {
      const respond = (value: number) => {
        if (replyTo !== undefined) dispatch(replyTo, { type: 'response', value });
        else done(String(value));
        stop(ctx.self);
      };
      if (msg.type === 'request') {
        if (msg.n <= 2) respond(1);
        else {
          dispatch(spawnFib(ctx.self, 'a', ctx.self, done), { type: 'request', n: msg.n - 1 });
          dispatch(spawnFib(ctx.self, 'b', ctx.self, done), { type: 'request', n: msg.n - 2 });
        }
        return state;
      }
      const result = state.result + msg.value;
      if (state.received + 1 === 2) respond(result);
      return { result, received: state.received + 1 };
    },
    name,
    { initialState: { result: 0, received: 0 } },
  );
}

function fib(system: System, { n }: SavinaSizes['fib'], done: Done): void {
  dispatch(spawnFib(system, 'fib', undefined, done), { type: 'request', n });
}

type BigMsg = { type: 'neighbors'; neighbors: Ref<BigMsg>[] } | { type: 'ping' | 'pong'; sender: number };

function big(system: System, { actors, pings }: SavinaSizes['big'], done: Done): void {
  let exits = 0;
  let sent = 0;
  let errors = 0;
  const sink = spawn(
    system,
    (state: object, msg: { type: 'exit'; pings: number; errors: number }) => {
      sent += msg.pings;
      errors += msg.errors;
      if (++exits === actors) done(`${exits}/${sent}/${errors}`);
      return state;
    },
    'sink',
    { initialState: {} },
  );
  interface Member {
    neighbors: Ref<BigMsg>[];
    pings: number;
    expected: number;
    errors: number;
  }
  const members = Array.from({ length: actors }, (_, id) => {
    const random = new SeededRandom(id);
    const myPing = { type: 'ping', sender: id } as const;
    const myPong = { type: 'pong', sender: id } as const;
    return spawn(
      system,
      (state: Member, msg: BigMsg) => {
        if (msg.type === 'neighbors') return { ...state, neighbors: msg.neighbors };
        if (msg.type === 'ping') {
          dispatch(state.neighbors[msg.sender], myPong);
          return state;
        }
        if (msg.sender !== state.expected) state.errors++;
        if (state.pings === pings) dispatch(sink, { type: 'exit', pings: state.pings, errors: state.errors });
        else {
          const target = random.nextInt(actors);
          state.expected = target;
          dispatch(state.neighbors[target], myPing);
          state.pings++;
        }
        return state;
      },
      `big-${id}`,
      { initialState: { neighbors: [], pings: 0, expected: -1, errors: 0 } },
    );
  });
  for (const member of members) dispatch(member, { type: 'neighbors', neighbors: members });
  for (const member of members) dispatch(member, { type: 'pong', sender: -1 });
}

const cases: { [K in SavinaCase]: (system: System, sizes: SavinaSizes[K], done: Done) => void } = {
  pingpong,
  threadring,
  counting,
  fjthroughput,
  fjcreation,
  fib,
  big,
};

export function startNactSavina(): Promise<SavinaPeer> {
  return Promise.resolve({
    run(caseName: SavinaCase, sizes: SavinaSizes) {
      return new Promise<string>((resolve, reject) => {
        const system = start();
        try {
          (cases[caseName] as (system: System, sizes: SavinaSizes[SavinaCase], done: Done) => void)(system, sizes[caseName], (answer) => {
            stop(system);
            resolve(answer);
          });
        } catch (error) {
          stop(system);
          reject(error);
        }
      });
    },
    close: () => Promise.resolve(),
  });
}
