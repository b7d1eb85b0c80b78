/**
 * Teaches the codec the runtime's own classes: ActorRef (slot, generation,
 * name; bound on decode to the thread that decoded it, see
 * `setDecodingHost`) and RegionHandle (region, generation, length, loan).
 * @internal
 */
import { DecodeError } from '../base/errors.js';
import { registerExtension } from '../transport/codec/index.js';
import { RegionHandle } from '../memory/handle.js';
import { ActorRef } from '../actors/ref.js';
import { Task } from '../actors/task.js';
import { Fenced, Proposal, Relay } from '../actors/envelope.js';
import { decodeValue, encodeValue } from '../transport/codec/index.js';

/** Codec tag of ActorRef. */
const kActorRefTag = 1;
/** Codec tag of RegionHandle. */
const kRegionHandleTag = 2;
/** Codec tags of Task, Relay, Proposal, Fenced. */
const kTaskTag = 3;
const kRelayTag = 4;
const kProposalTag = 5;
const kFencedTag = 6;

let registered = false;

/** ActorRef flags: a name follows; a node follows. */
const kRefNamed = 1;
const kRefNoded = 2;
/** This process's cluster node name ('' outside a cluster): a ref naming it decodes as a local one. */
let localNode: string | undefined;
/** The node whose bytes are being decoded (a ref without a node is one of its actors); undefined: this process's. */
let decodeOrigin: string | undefined;

/** Sets this thread's own cluster node name (once, at start; undefined outside a cluster). */
export function setLocalNode(node: string | undefined): void {
  localNode = node;
}

/** Sets the node whose bytes are decoded next (the cluster gateway, around each batch); undefined after. */
export function setDecodeOrigin(node: string | undefined): void {
  decodeOrigin = node;
}

/** Registers the extensions once per thread. */
export function registerCodecExtensions(): void {
  if (registered) return;
  registered = true;
  registerExtension<RegionHandle>({
    tag: kRegionHandleTag,
    ctor: RegionHandle,
    write(w, h) {
      w.u32(h.region);
      w.i32(h.gen);
      w.u32(h.byteLength);
      w.u32(h.lease);
      w.i32(h.leaseSerial);
    },
    read(r) {
      return new RegionHandle(r.u32(), r.i32(), r.u32(), r.u32(), r.i32());
    },
  });
  registerExtension<Task>({
    tag: kTaskTag,
    ctor: Task,
    write(w, task) {
      w.str(task.id);
      w.str(task.kind);
      w.u32(task.attempt);
      encodeValue(w, task.payload, 'payload');
    },
    read(r) {
      const id = r.str();
      const kind = r.str();
      const attempt = r.u32();
      return new Task(id, kind, decodeValue(r), attempt);
    },
  });
  registerExtension<Relay>({
    tag: kRelayTag,
    ctor: Relay,
    write(w, r) {
      w.str(r.swarm);
      w.u32(r.fanout);
      w.u32(r.at);
      encodeValue(w, r.members, 'members');
      encodeValue(w, r.msg, 'msg');
    },
    read(r) {
      const swarm = r.str();
      const fanout = r.u32();
      const at = r.u32();
      const offset = r.pos;
      const members = decodeValue(r);
      // Untrusted (a frame, a cluster record): a relay is passed on along these before it is handled.
      if (!Array.isArray(members) || !members.every((m) => m instanceof ActorRef) || fanout < 1 || at >= members.length) {
        throw new DecodeError(`a swarm relay with members that are not a list of refs, fanout ${fanout} or position ${at}`, offset);
      }
      return new Relay(swarm, members, fanout, at, decodeValue(r));
    },
  });
  registerExtension<Proposal>({
    tag: kProposalTag,
    ctor: Proposal,
    write(w, p) {
      w.str(p.swarm);
      w.str(p.id);
      w.u32(p.round);
      encodeValue(w, p.value, 'value');
    },
    read(r) {
      const swarm = r.str();
      const id = r.str();
      const round = r.u32();
      return new Proposal(swarm, id, decodeValue(r), round);
    },
  });
  registerExtension<Fenced>({
    tag: kFencedTag,
    ctor: Fenced,
    write(w, f) {
      w.str(f.swarm);
      w.f64(f.term);
      encodeValue(w, f.msg, 'msg');
    },
    read(r) {
      const swarm = r.str();
      const term = r.f64();
      return new Fenced(swarm, term, decodeValue(r));
    },
  });
  registerExtension<ActorRef>({
    tag: kActorRefTag,
    ctor: ActorRef,
    // i32 slot, u32 gen, u8 flags (bit 0: a name follows, bit 1: a node
    // follows), then the name and the node as strings. A ref without a node
    // is one of the node that encoded it (see setDecodeOrigin).
    write(w, ref) {
      w.ensure(16);
      w.i32(ref.slot);
      w.u32(ref.gen);
      w.u8((ref.name === undefined ? 0 : kRefNamed) | (ref.node === undefined ? 0 : kRefNoded));
      if (ref.name !== undefined) w.str(ref.name);
      if (ref.node !== undefined) w.str(ref.node);
    },
    read(r) {
      const slot = r.i32();
      const gen = r.u32();
      const flags = r.u8();
      const name = (flags & kRefNamed) !== 0 ? r.str() : undefined;
      let node = (flags & kRefNoded) !== 0 ? r.str() : decodeOrigin;
      if (node === localNode) node = undefined;
      return new ActorRef(slot, gen, name, undefined, node);
    },
  });
}
