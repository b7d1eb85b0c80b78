/**
 * Teaches the codec the runtime's own classes: ActorRef (slot, generation,
 * name; bound on decode to the thread that decoded it, see
 * `setDecodingHost`) and RegionHandle (region, generation, length, loan).
 * @internal
 */
import { registerExtension } from '../runtime/codec.js';
import { RegionHandle } from '../memory/handle.js';
import { ActorRef } from './ref.js';
import { Task } from './task.js';
import { decodeValue, encodeValue } from '../runtime/codec.js';

/** Codec tag of ActorRef. */
export const kActorRefTag = 1;
/** Codec tag of RegionHandle. */
export const kRegionHandleTag = 2;
/** Codec tag of Task. */
export const kTaskTag = 3;

let registered = false;

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
  registerExtension<ActorRef>({
    tag: kActorRefTag,
    ctor: ActorRef,
    write(w, ref) {
      w.ensure(16);
      w.i32(ref.slot);
      w.u32(ref.gen);
      if (ref.name === undefined) w.u8(0);
      else {
        w.u8(1);
        w.str(ref.name);
      }
    },
    read(r) {
      const slot = r.i32();
      const gen = r.u32();
      const name = r.u8() === 1 ? r.str() : undefined;
      return new ActorRef(slot, gen, name);
    },
  });
}
