/**
 * Every error microswarm throws or rejects with. Each class sets `name`,
 * passes `{ cause }` where there is one, and carries the data a caller needs
 * to act on it (the option, the value received and its type, the actor).
 *
 * Errors cross threads through the codec (see `codec.ts`): a class listed in
 * `errorClasses` (error-classes.ts) is rebuilt as the same class on the receiving side, so
 * `err instanceof ActorStoppedError` holds for an ask answered by a worker.
 */

/** Describes a value for an error message: `` `-3` (number) ``. */
export function describeValue(value: unknown): string {
  let shown: string;
  try {
    if (typeof value === 'string') shown = JSON.stringify(value);
    else if (typeof value === 'bigint') shown = `${value}n`;
    else if (typeof value === 'function') shown = `[function ${value.name || 'anonymous'}]`;
    else if (typeof value === 'symbol') shown = value.toString();
    else if (value instanceof URL) shown = value.href;
    else if (value !== null && typeof value === 'object') {
      const json = JSON.stringify(value);
      shown = json === undefined ? Object.prototype.toString.call(value) : json;
    } else shown = String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return `\`${shown}\` (${typeName(value)})`;
}

/** The type of a value as a user would name it: `null`, `array`, `Map`, `number`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
    const name = proto?.constructor?.name;
    return name && name !== 'Object' ? name : 'object';
  }
  return typeof value;
}

/** Turns anything thrown into an Error, so a thrown `undefined` still counts. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const err = new Error(`Non-error value thrown: ${describeValue(thrown)}`);
  (err as Error & { thrown?: unknown }).thrown = thrown;
  return err;
}

/** Base class of every microswarm error. */
export class MicroswarmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option passed to a public call is missing, of the wrong type, or out of range. */
export class InvalidOptionError extends MicroswarmError {
  /** The option's name (or the argument's), as the message shows it: `maxAgents`, `tasks.strategy`. */
  readonly option: string;
  /** The value received. */
  readonly value: unknown;
  constructor(option: string, expected: string, value: unknown) {
    super(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
    this.option = option;
    this.value = value;
  }
}

/** An argument of a public call is of the wrong kind (not an option object member). */
export class InvalidArgumentError extends InvalidOptionError {}

/** The runtime was shut down (or is shutting down) and takes no more work. */
export class RuntimeClosedError extends MicroswarmError {
  constructor(what: string) {
    super(`The runtime is shut down; cannot ${what}`);
  }
}

/** An actor module could not be loaded, or its default export is not an actor. */
export class ActorModuleError extends MicroswarmError {
  /** The URL of the module that failed to load. */
  readonly moduleUrl: string;
  constructor(moduleUrl: string, reason: string, options?: { cause?: unknown }) {
    super(`Cannot load actor module ${moduleUrl}: ${reason}`, options);
    this.moduleUrl = moduleUrl;
  }
}

/** An actor's `init` threw or rejected; the actor was not started. */
export class ActorInitError extends MicroswarmError {
  /** The URL of the actor's module. */
  readonly moduleUrl: string;
  constructor(moduleUrl: string, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`init of the actor from ${moduleUrl} failed${cause}`, options);
    this.moduleUrl = moduleUrl;
  }
}

/**
 * A context call made where the actor cannot honour it: `ctx.checkpoint()`
 * while its `init` (or `restore`) runs, before it has a state to snapshot.
 */
export class InvalidStateError extends MicroswarmError {
  /** The actor, as its ref prints (`Actor(name#slot.gen)` or `Actor(slot.gen)`). */
  readonly actor: string;
  /** The call refused, as the message names it: `ctx.checkpoint()`. */
  readonly operation: string;
  constructor(actor: string, operation: string, reason: string) {
    super(`${operation} cannot run on actor ${actor}: ${reason}`);
    this.actor = actor;
    this.operation = operation;
  }
}

/** The runtime already holds `maxAgents` live actors. */
export class AgentLimitError extends MicroswarmError {
  /** The runtime's `maxAgents`, reached. */
  readonly maxAgents: number;
  constructor(maxAgents: number) {
    super(`Cannot spawn: the runtime already holds maxAgents = ${maxAgents} live actors (raise \`maxAgents\` in Runtime.start)`);
    this.maxAgents = maxAgents;
  }
}

/** A name given at spawn is already registered to a live actor. */
export class NameTakenError extends MicroswarmError {
  /** The name asked for. */
  readonly actorName: string;
  constructor(actorName: string) {
    super(`The name ${JSON.stringify(actorName)} is already registered to a live actor`);
    this.actorName = actorName;
  }
}

/**
 * An actor's cluster node cannot be reached: it is not a member (never
 * joined, left, or declared down), so an ask to one of its actors settles
 * with this instead of waiting for its timeout.
 */
export class NodeUnreachableError extends MicroswarmError {
  /** The node that could not be reached. */
  readonly node: string;
  constructor(node: string, detail = 'is not a member of the cluster') {
    super(`Cluster node ${JSON.stringify(node)} ${detail}`);
    this.node = node;
  }
}

/**
 * A cluster entity could not be activated on the node a message reached (its
 * lease could not be read or taken, or its actor could not be spawned): the
 * message was not handled. `cause` is what failed.
 */
export class EntityUnavailableError extends MicroswarmError {
  /** The entity, as its ref prints (`Entity(key)`). */
  readonly entity: string;
  constructor(entity: string, detail: string, options?: { cause?: unknown }) {
    super(`${entity} could not be activated: ${detail}`, options);
    this.entity = entity;
  }
}

/** A message holds a value the codec cannot carry across threads. */
export class SerializationError extends MicroswarmError {
  /** Where in the message the value sits, e.g. `msg.payload.cb`. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`Cannot send ${path}: ${reason}`);
    this.path = path;
  }
}

/**
 * Bytes received are malformed: a message body, a ring frame or a journal
 * entry that is truncated, declares a length larger than the bytes present
 * (or than the limit it is read under), nests deeper than the codec allows,
 * or holds a value that cannot be rebuilt (an unknown tag, a bad RegExp).
 * Every decoder and frame parser throws this, and only this, for malformed
 * input: it never reads past the bytes it was given nor allocates for a
 * length it has not checked. A SerializationError, so code that caught the
 * codec's errors before still does; `path` is always `msg`.
 */
export class DecodeError extends SerializationError {
  /** The byte offset (in the buffer being read) where the problem was found. */
  readonly offset: number;
  /** What was wrong, e.g. `a length of 4294967295 runs past the end of the message (3 bytes left)`. */
  readonly reason: string;
  constructor(reason: string, offset: number, options?: { cause?: unknown }) {
    super('msg', `cannot decode: the encoded bytes are corrupt (${reason}, reading at byte ${offset})`);
    this.message = `Cannot decode the bytes received: ${reason} (at byte ${offset})`;
    this.offset = offset;
    this.reason = reason;
    if (options !== undefined && 'cause' in options) {
      Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true, enumerable: false });
    }
  }
}

/** A message is larger than `maxMessageBytes` once encoded. */
export class MessageTooLargeError extends MicroswarmError {
  /** The size of the encoded message, in bytes. */
  readonly bytes: number;
  /** The runtime's `maxMessageBytes`. */
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(`The message encodes to ${bytes} bytes, above the limit of ${limit} bytes (maxMessageBytes)`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The target actor has stopped (or never existed). */
export class ActorStoppedError extends MicroswarmError {
  /** The actor, as its ref prints (`Actor(name#slot.gen)` or `Actor(slot.gen)`). */
  readonly actor: string;
  constructor(actor: string, detail = 'has stopped') {
    super(`Actor ${actor} ${detail}`);
    this.actor = actor;
  }
}

/** A bounded mailbox refused a message under its overflow policy. */
export class MailboxFullError extends MicroswarmError {
  /** The actor, as its ref prints (`Actor(name#slot.gen)` or `Actor(slot.gen)`). */
  readonly actor: string;
  /** The mailbox's capacity, in messages. */
  readonly capacity: number;
  constructor(actor: string, capacity: number, detail = 'is full') {
    super(`The mailbox of actor ${actor} ${detail} (capacity ${capacity})`);
    this.actor = actor;
    this.capacity = capacity;
  }
}

/** An ask got no answer within its timeout. Created when the ask is made. */
export class AskTimeoutError extends MicroswarmError {
  /** The actor asked, as its ref prints (`Actor(name#slot.gen)` or `Actor(slot.gen)`). */
  readonly actor: string;
  /** The ask's timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** The actor that asked, as its ref prints, when an actor asked in the synchronous part of its handler. */
  readonly asker: string | undefined;
  constructor(actor: string, timeoutMs: number, asker?: string) {
    super(`Ask to actor ${actor}${asker === undefined ? '' : ` by actor ${asker}`} got no answer within ${timeoutMs} ms`);
    this.actor = actor;
    this.timeoutMs = timeoutMs;
    this.asker = asker;
  }
}

/** An ask was aborted by its AbortSignal. */
export class AskAbortedError extends MicroswarmError {
  /** The actor asked, as its ref prints. */
  readonly actor: string;
  constructor(actor: string, options?: { cause?: unknown }) {
    super(`Ask to actor ${actor} was aborted`, options);
    this.actor = actor;
  }
}

/** A handler threw or rejected while answering an ask; `cause` is what it threw. */
export class HandlerError extends MicroswarmError {
  /** The actor whose handler failed, as its ref prints. */
  readonly actor: string;
  constructor(actor: string, options: { cause: unknown }) {
    const cause = options.cause instanceof Error ? `: ${options.cause.name}: ${options.cause.message}` : '';
    super(`The handler of actor ${actor} failed${cause}`, options);
    this.actor = actor;
  }
}

/** A region handle whose allocation has ended (freed, or reused since): its bytes are someone else's now. */
export class StaleHandleError extends MicroswarmError {
  /** The handle, as it prints (`Region(region.gen, bytes B)`). */
  readonly handle: string;
  constructor(handle: string, detail = 'was freed') {
    super(`Region handle ${handle} is stale: its allocation ${detail}`);
    this.handle = handle;
  }
}

/** An evictable allocation was reclaimed by the pool's eviction policy. */
export class EvictedError extends StaleHandleError {
  constructor(handle: string) {
    super(handle, 'was evicted under memory pressure');
  }
}

/** The caller may not do this with the region: it neither owns it nor was lent it, or a borrower tried to write. */
export class RegionAccessError extends MicroswarmError {
  /** The handle, as it prints (`Region(region.gen, bytes B)`). */
  readonly handle: string;
  constructor(handle: string, detail: string) {
    super(`Region ${handle}: ${detail}`);
    this.handle = handle;
  }
}

/** An allocation would take an actor past its `memoryQuota`. */
export class QuotaExceededError extends MicroswarmError {
  /** The actor allocating, as its ref prints. */
  readonly actor: string;
  /** Its `memoryQuota`, in bytes. */
  readonly quota: number;
  /** Bytes it held when it asked. */
  readonly used: number;
  /** Bytes it asked for. */
  readonly requested: number;
  constructor(actor: string, quota: number, used: number, requested: number) {
    super(`Actor ${actor} would exceed its memoryQuota of ${quota} bytes: it uses ${used} and asked for ${requested} more`);
    this.actor = actor;
    this.quota = quota;
    this.used = used;
    this.requested = requested;
  }
}

/** No run of free regions is large enough, even after eviction. */
export class PoolExhaustedError extends MicroswarmError {
  /** Bytes asked for. */
  readonly requested: number;
  constructor(requested: number, usage: string) {
    super(`The memory pool cannot place ${requested} bytes: ${usage}`);
    this.requested = requested;
  }
}

/**
 * The actor that was to answer an ask crashed with its thread before it
 * answered: the ask may or may not have been handled.
 */
export class ActorCrashedError extends MicroswarmError {
  /** The actor that crashed, as its ref prints; `on pool thread N` where the thread's death, not one actor, is reported. */
  readonly actor: string;
  constructor(actor: string, detail = 'crashed (its thread died) before it answered', options?: { cause?: unknown }) {
    super(`Actor ${actor} ${detail}`, options);
    this.actor = actor;
  }
}

/**
 * A child's failure that its supervisor escalated: the supervisor fails with
 * this error, whose `cause` is the child's error.
 */
export class EscalatedError extends MicroswarmError {
  /** The child whose failure was escalated, as its ref prints. */
  readonly child: string;
  constructor(child: string, reason: string, options?: { cause?: unknown }) {
    super(`Failure of ${child} escalated: ${reason}`, options);
    this.child = child;
  }
}

/**
 * A handler ran longer than its actor's `handlerTimeoutMs`, or has held its
 * pool thread without yielding for the runtime's `blockingHandlerMs` (then
 * `thread` is set, and `messageKind` names the message when it can be read).
 * Reported on `rt.failures` (phase 'timeout'), never thrown: the handler is
 * not cut off.
 */
export class HandlerTimeoutError extends MicroswarmError {
  /** The actor whose handler ran long, as its ref prints; `pool thread N` for code outside any handler. */
  readonly actor: string;
  /** The limit passed: `handlerTimeoutMs`, or `blockingHandlerMs` when `thread` is set. */
  readonly limitMs: number;
  /** How long the handler had run (or held the thread) when reported, in milliseconds. */
  readonly elapsedMs: number;
  /** The message's `type` (or what it is), when known. */
  readonly messageKind: string | undefined;
  /** The 0-based pool thread held, for a handler that does not yield. */
  readonly thread: number | undefined;
  constructor(
    actor: string,
    limitMs: number,
    elapsedMs: number,
    blocking?: { thread: number; messageKind?: string; stuckThreadMs: number; outsideHandler?: boolean },
  ) {
    const ms = Math.round(elapsedMs);
    let text = `A handler of ${actor} ran ${ms} ms, over its handlerTimeoutMs of ${limitMs} ms`;
    if (blocking !== undefined) {
      const what =
        blocking.outsideHandler === true
          ? `Code outside any message handler (an async handler's continuation, a timer, a start-up)`
          : `A handler of ${actor}${blocking.messageKind === undefined ? '' : ` (message ${blocking.messageKind})`}`;
      text =
        `${what} has held pool thread ${blocking.thread} for ${ms} ms without yielding, over blockingHandlerMs (${limitMs} ms)` +
        (blocking.stuckThreadMs > 0 ? `; the thread is terminated if it is still held at stuckThreadMs (${blocking.stuckThreadMs} ms)` : '');
    }
    super(text);
    this.actor = actor;
    this.limitMs = limitMs;
    this.elapsedMs = elapsedMs;
    this.messageKind = blocking?.messageKind;
    this.thread = blocking?.thread;
  }
}

/**
 * A message whose handling took its thread down twice (it was being handled
 * both times the thread died): it is not handed over a third time. It is
 * dead-lettered (reason 'poison'), its ask rejects with this error, and the
 * actor's supervisor decides what happens to the actor, as for a handler that
 * threw. Not an ActorCrashedError on purpose: the advice for that one is to
 * retry, and retrying this message would take a thread down again.
 */
export class PoisonMessageError extends MicroswarmError {
  /** The actor the message was for, as its ref prints. */
  readonly actor: string;
  /** Thread deaths while it was being handled. */
  readonly crashes: number;
  constructor(actor: string, crashes: number) {
    super(`A message to ${actor} took its thread down ${crashes} times while it was being handled; it is not delivered again (poison)`);
    this.actor = actor;
    this.crashes = crashes;
  }
}

/** `rt.migrate` could not move an actor (it stays where it was, running). */
export class MigrationError extends MicroswarmError {
  /** The actor that stays where it was, as its ref prints. */
  readonly actor: string;
  constructor(actor: string, reason: string, options?: { cause?: unknown }) {
    super(`Cannot migrate ${actor}: ${reason}`, options);
    this.actor = actor;
  }
}

/** The pool's threads could not start (Runtime.start rejects with it; Piscina does not retry a thread failing at start-up). */
export class ThreadStartError extends MicroswarmError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The pool threads could not start: ${reason}`, options);
  }
}

/** A task was cancelled (its signal, `handle.cancel()`, or the runtime shutting down) before it finished. */
export class TaskCancelledError extends MicroswarmError {
  /** The task's id (`handle.id`). */
  readonly taskId: string;
  constructor(taskId: string, reason: string) {
    super(`Task ${taskId} was cancelled: ${reason}`);
    this.taskId = taskId;
  }
}

/** An attempt of a task ran past its timeout (fixed or adaptive); its signal fired in the agent. */
export class TaskTimeoutError extends MicroswarmError {
  /** The task's id (`handle.id`). */
  readonly taskId: string;
  /** The timeout this attempt ran under, in milliseconds. */
  readonly timeoutMs: number;
  /** Which attempt timed out: 1 for the first. */
  readonly attempt: number;
  constructor(taskId: string, timeoutMs: number, attempt: number) {
    super(`Task ${taskId} timed out after ${Math.round(timeoutMs)} ms (attempt ${attempt})`);
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
    this.attempt = attempt;
  }
}

/** `submit` would close a cycle of dependencies; `cycle` lists the task ids around it. */
export class DependencyCycleError extends MicroswarmError {
  /** The task ids around the cycle, the first repeated at the end. */
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(`Task dependencies would form a cycle: ${cycle.join(' -> ')}`);
    this.cycle = cycle;
  }
}

/** A task this one depends on failed (or was cancelled), so this one did not run. */
export class DependencyFailedError extends MicroswarmError {
  /** The task that did not run. */
  readonly taskId: string;
  /** The id of the dependency that failed or was cancelled. */
  readonly dependency: string;
  constructor(taskId: string, dependency: string, options?: { cause?: unknown }) {
    super(`Task ${taskId} did not run: its dependency ${dependency} failed`, options);
    this.taskId = taskId;
    this.dependency = dependency;
  }
}

/** The scheduler holds `maxQueue` waiting tasks already: backpressure, retry later. */
export class QueueFullError extends MicroswarmError {
  /** The scheduler's `maxQueue`. */
  readonly maxQueue: number;
  constructor(maxQueue: number) {
    super(`The task queue is full (maxQueue ${maxQueue} tasks waiting)`);
    this.maxQueue = maxQueue;
  }
}

/** No live agent has every capability a task requires. */
export class NoCapableAgentError extends MicroswarmError {
  /** The capabilities the task requires. */
  readonly requires: string[];
  constructor(requires: string[], available: string[]) {
    super(
      `No agent has every capability required (${requires.map((r) => JSON.stringify(r)).join(', ')}); agents offer ${
        available.length === 0 ? 'none' : available.map((r) => JSON.stringify(r)).join(', ')
      }`,
    );
    this.requires = requires;
  }
}

/** A fenced message carried a swarm leader term older than the one its recipient's thread knows: refused. */
export class StaleTermError extends MicroswarmError {
  /** The member that refused the message, as its ref prints. */
  readonly actor: string;
  constructor(actor: string, detail: string) {
    super(`Actor ${actor} refused a message from a deposed leader: ${detail}`);
    this.actor = actor;
  }
}

/**
 * A cluster entity could not be activated from its last snapshot: the
 * reference its lease holds to the object store is malformed, or the object
 * it names is missing or corrupt. The activation fails (the asks waiting for
 * it reject with this error) and the lease is left as it was; the next
 * message tries again.
 */
export class EntitySnapshotError extends MicroswarmError {
  /** The entity, as its ref prints (`Entity(key)`). */
  readonly entity: string;
  /** The entity's module URL. */
  readonly module: string;
  constructor(entity: string, module: string, reason: string, options?: { cause?: unknown }) {
    super(`Cannot activate ${entity} of ${module} from its snapshot: ${reason}`, options);
    this.entity = entity;
    this.module = module;
  }
}

/**
 * A cluster node tried to join under a node name that a live member holds:
 * its key in the membership bucket kept changing (heartbeats) while the
 * joiner watched it. A name whose owner stopped beating is taken over
 * instead, so this error means another running process uses the name.
 */
export class NodeNameTakenError extends MicroswarmError {
  /** The node name asked for. */
  readonly node: string;
  constructor(node: string) {
    super(`The cluster node name ${JSON.stringify(node)} is held by a live member (its heartbeats go on); pick another name`);
    this.node = node;
  }
}

/** Removes the userinfo (`user:password@`) of every URL in `text`. */
function stripUserinfo(text: string): string {
  // Up to the last `@` of the URL (a password may hold `@` or `/`): safer to cut too much than too little.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, '$1').replace(/^\S*@/, '');
}

/**
 * A connection to the cluster's NATS server could not be made (unreachable,
 * refused, or credentials rejected). The message and `server` never hold the
 * URL's userinfo (user, password or token); `cause` is the client's error.
 */
export class ClusterConnectError extends MicroswarmError {
  /** The server's URL as given, with any `user:password@` removed. */
  readonly server: string;
  constructor(server: string, options?: { cause?: unknown }) {
    const shown = stripUserinfo(server);
    const cause = options?.cause instanceof Error ? `: ${stripUserinfo(options.cause.message)}` : '';
    super(`Cannot connect to the NATS server ${shown}${cause}`, options);
    this.server = shown;
  }
}

/**
 * `rt.serve` could not listen: the port is taken, the host is not an address
 * of this machine, or listening there is not allowed. `cause` is the server's error.
 */
export class ServeError extends MicroswarmError {
  /** The host asked for. */
  readonly host: string;
  /** The port asked for. */
  readonly port: number;
  constructor(host: string, port: number, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`Cannot serve the observability routes on ${host}:${port}${cause}`, options);
    this.host = host;
    this.port = port;
  }
}
