/**
 * The `plain` impl of the Savina cases: the same actors and messages in one
 * thread, with plain objects and one FIFO queue of (actor, message) pairs,
 * drained in a loop. No runtime: the floor under any actor library's cost.
 */
import { expectedAnswer, performComputation, SeededRandom, type SavinaCase, type SavinaPeer, type SavinaSizes } from './savina-shape.js';

interface Actor {
  receive(msg: unknown): void;
}

/** A FIFO of deliveries, drained until empty. */
class Queue {
  private actors: (Actor | undefined)[] = [];
  private msgs: unknown[] = [];
  private head = 0;
  tell(to: Actor, msg: unknown): void {
    this.actors.push(to);
    this.msgs.push(msg);
  }
  drain(): void {
    while (this.head < this.actors.length) {
      const to = this.actors[this.head] as Actor;
      const msg = this.msgs[this.head];
      this.actors[this.head] = undefined;
      this.msgs[this.head] = undefined;
      this.head++;
      to.receive(msg);
      if (this.head >= 1 << 16 && this.head * 2 >= this.actors.length) {
        this.actors = this.actors.slice(this.head);
        this.msgs = this.msgs.slice(this.head);
        this.head = 0;
      }
    }
    this.actors = [];
    this.msgs = [];
    this.head = 0;
  }
}

type Done = (answer: string) => void;

function pingpong(q: Queue, { pings }: SavinaSizes['pingpong'], done: Done): void {
  const pong = {
    count: 0,
    receive(msg: { type: 'ping' | 'stop'; sender: Actor }) {
      if (msg.type === 'ping') {
        q.tell(msg.sender, { type: 'pong', sender: pong });
        this.count++;
      } else done(String(this.count));
    },
  };
  const ping = {
    left: pings,
    receive(msg: { type: 'start' | 'ping' | 'pong' }) {
      if (msg.type === 'pong') {
        if (this.left > 0) q.tell(ping, { type: 'ping' });
        else q.tell(pong, { type: 'stop' });
        return;
      }
      q.tell(pong, { type: 'ping', sender: ping });
      this.left--;
    },
  };
  q.tell(ping, { type: 'start' });
}

function threadring(q: Queue, { actors, hops }: SavinaSizes['threadring'], done: Done): void {
  let zero = -1;
  let exits = 0;
  const ring = Array.from({ length: actors }, (_, id) => ({
    next: undefined as unknown as Actor,
    receive(msg: { type: 'ping'; left: number } | { type: 'exit'; left: number }) {
      if (msg.type === 'ping') {
        if (msg.left > 0) q.tell(this.next, { type: 'ping', left: msg.left - 1 });
        else {
          zero = id;
          q.tell(this.next, { type: 'exit', left: actors });
        }
        return;
      }
      exits++;
      if (msg.left > 1) q.tell(this.next, { type: 'exit', left: msg.left - 1 });
      else done(`${zero}/${exits}`);
    },
  }));
  ring.forEach((actor, i) => {
    actor.next = ring[(i + 1) % actors];
  });
  q.tell(ring[0], { type: 'ping', left: hops });
}

function counting(q: Queue, { messages }: SavinaSizes['counting'], done: Done): void {
  const counter = {
    count: 0,
    receive(msg: { type: 'inc' } | { type: 'retrieve'; sender: Actor }) {
      if (msg.type === 'inc') this.count++;
      else q.tell(msg.sender, { type: 'result', count: this.count });
    },
  };
  const producer = {
    receive(msg: { type: 'start' } | { type: 'result'; count: number }) {
      if (msg.type === 'result') {
        done(String(msg.count));
        return;
      }
      for (let i = 0; i < messages; i++) q.tell(counter, { type: 'inc' });
      q.tell(counter, { type: 'retrieve', sender: producer });
    },
  };
  q.tell(producer, { type: 'start' });
}

function fjthroughput(q: Queue, { actors, messages }: SavinaSizes['fjthroughput'], done: Done): void {
  let finished = 0;
  const workers = Array.from({ length: actors }, () => ({
    processed: 0,
    receive() {
      this.processed++;
      performComputation(37.2);
      if (this.processed === messages && ++finished === actors) done(`${finished}x${this.processed}`);
    },
  }));
  const message = { type: 'work' };
  for (let m = 0; m < messages; m++) for (const worker of workers) q.tell(worker, message);
}

function fjcreation(q: Queue, { actors }: SavinaSizes['fjcreation'], done: Done): void {
  let finished = 0;
  const message = { type: 'work' };
  for (let i = 0; i < actors; i++) {
    const worker = {
      receive() {
        performComputation(37.2);
        if (++finished === actors) done(String(finished));
      },
    };
    q.tell(worker, message);
  }
}

type FibMsg = { type: 'request'; n: number } | { type: 'response'; value: number };

class FibActor implements Actor {
  private result = 0;
  private received = 0;
  constructor(
    private readonly q: Queue,
    private readonly parent: FibActor | undefined,
    private readonly done: Done,
  ) {}
  receive(msg: FibMsg): void {
    if (msg.type === 'request') {
      if (msg.n <= 2) this.respond(1);
      else {
        this.q.tell(new FibActor(this.q, this, this.done), { type: 'request', n: msg.n - 1 });
        this.q.tell(new FibActor(this.q, this, this.done), { type: 'request', n: msg.n - 2 });
      }
      return;
    }
    this.result += msg.value;
    if (++this.received === 2) this.respond(this.result);
  }
  private respond(value: number): void {
    if (this.parent !== undefined) this.q.tell(this.parent, { type: 'response', value });
    else this.done(String(value));
  }
}

function fib(q: Queue, { n }: SavinaSizes['fib'], done: Done): void {
  q.tell(new FibActor(q, undefined, done), { type: 'request', n });
}

function big(q: Queue, { actors, pings }: SavinaSizes['big'], done: Done): void {
  let exits = 0;
  let sent = 0;
  let errors = 0;
  const sink = {
    receive(msg: { type: 'exit'; pings: number; errors: number }) {
      sent += msg.pings;
      errors += msg.errors;
      if (++exits === actors) done(`${exits}/${sent}/${errors}`);
    },
  };
  const members = Array.from({ length: actors }, (_, id) => {
    const random = new SeededRandom(id);
    const member = {
      pings: 0,
      expected: -1,
      errors: 0,
      ping: { type: 'ping', sender: id },
      pong: { type: 'pong', sender: id },
      receive(msg: { type: 'ping' | 'pong'; sender: number }) {
        if (msg.type === 'ping') {
          q.tell(members[msg.sender], member.pong);
          return;
        }
        if (msg.sender !== member.expected) member.errors++;
        if (member.pings === pings) q.tell(sink, { type: 'exit', pings: member.pings, errors: member.errors });
        else {
          const target = random.nextInt(actors);
          member.expected = target;
          q.tell(members[target], member.ping);
          member.pings++;
        }
      },
    };
    return member;
  });
  for (const member of members) q.tell(member, { type: 'pong', sender: -1 });
}

const cases: { [K in SavinaCase]: (q: Queue, sizes: SavinaSizes[K], done: Done) => void } = {
  pingpong,
  threadring,
  counting,
  fjthroughput,
  fjcreation,
  fib,
  big,
};

export function startPlainSavina(): Promise<SavinaPeer> {
  return Promise.resolve({
    async run(caseName: SavinaCase, sizes: SavinaSizes) {
      const q = new Queue();
      let answer: string | undefined;
      (cases[caseName] as (q: Queue, sizes: SavinaSizes[SavinaCase], done: Done) => void)(q, sizes[caseName], (value) => {
        answer = value;
      });
      q.drain();
      if (answer === undefined) throw new Error(`plain ${caseName}: the queue drained with no answer (expected ${expectedAnswer(caseName, sizes)})`);
      return answer;
    },
    close: () => Promise.resolve(),
  });
}
