/**
 * The sender field of TELL, ASK, FORWARD and MULTICAST frames (layouts:
 * ../transport/kinds.ts): a sender of this process is its (slot, gen); one of
 * another cluster node is the marker kRemoteSender and the ref itself, as a
 * codec value just before the message. A leaf the router (writing) and
 * inbound and recovery (reading) share.
 */
import { ActorRef, type RefHost } from '../actors/ref.js';
import { type Reader, type Writer, decodeValue, encodeValue } from '../transport/codec/index.js';
import { kRemoteSender } from '../transport/kinds.js';

/** @internal Writes (sSlot, sGen); returns true when the ref must follow (see writeRemoteSender). */
export function writeSenderHead(w: Writer, sender: ActorRef | undefined): boolean {
  if (sender === undefined) {
    w.i32(-1);
    w.u32(0);
    return false;
  }
  if (sender.node !== undefined) {
    w.i32(kRemoteSender);
    w.u32(0);
    return true;
  }
  w.i32(sender.slot);
  w.u32(sender.gen);
  return false;
}

/** @internal Writes a remote sender's ref, where the layout puts it (right before the message). */
export function writeRemoteSender(w: Writer, sender: ActorRef): void {
  encodeValue(w, sender, 'sender');
}

/** @internal The sender a frame names: none, this process's (slot, gen), or (kRemoteSender) the ref that follows. */
export function readSender(r: Reader, senderSlot: number, senderGen: number, host: RefHost): ActorRef | undefined {
  if (senderSlot === kRemoteSender) {
    const ref = decodeValue(r);
    if (!(ref instanceof ActorRef)) throw new TypeError(`a frame's remote sender is not a ref: ${typeof ref}`);
    return ref;
  }
  return senderSlot >= 0 ? new ActorRef(senderSlot, senderGen, undefined, host) : undefined;
}
