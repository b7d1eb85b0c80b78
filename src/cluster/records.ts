/**
 * Cluster records (layout: ../transport/kinds.ts): starting one, and the
 * shape checks of what arrives in one from another process.
 */
import { ActorRef } from '../actors/ref.js';
import type { Writer } from '../transport/codec/index.js';
import { kAsk, kEntityAsker, kKindMask, kRecordAskerAt, kRecordEntity, kRecordHeaderBytes } from '../transport/kinds.js';
import { u32At } from './streams.js';

/** An ENTITY record's msg: [module (a file: URL), key (1 to 256 characters), message], or [module, key, message, 1] (direct). */
export function isEntityMessage(msg: unknown): msg is [string, string, unknown] | [string, string, unknown, 1] {
  if (!Array.isArray(msg) || !(msg.length === 3 || (msg.length === 4 && msg[3] === 1))) return false;
  const [module, key] = msg;
  // A module this node would import: a file URL only (never data:, http: or node: code named by another process).
  if (typeof module !== 'string' || !module.startsWith('file:') || module.length > 4096) return false;
  return typeof key === 'string' && key.length > 0 && key.length <= 256;
}

/** Starts a cluster record in `w` (layout: ../transport/kinds.ts): kind, slot and gen 0, asker, ask id, timeout. */
export function beginRecord(w: Writer, kind: number, asker: number, askId: number, timeoutMs: number): Writer {
  w.reset();
  w.ensure(kRecordHeaderBytes + 8);
  w.u8(kind);
  w.u32(0);
  w.u32(0);
  w.u32(asker);
  w.u32(askId);
  w.u32(timeoutMs);
  return w;
}

/** An ASK record, or an ENTITY record that asks (it is answered to this node). */
export function isAsk(bytes: Uint8Array, start: number): boolean {
  const kind = bytes[start] & kKindMask;
  return kind === kAsk || (kind === kRecordEntity && u32At(bytes, start + kRecordAskerAt) === kEntityAsker);
}

/** A TERM record's message: [swarm name, leader ref or undefined, term from 1]. */
export function isTerm(msg: unknown): msg is [string, ActorRef | undefined, number] {
  return (
    Array.isArray(msg) &&
    msg.length === 3 &&
    typeof msg[0] === 'string' &&
    msg[0].length > 0 &&
    msg[0].length <= 256 &&
    (msg[1] === undefined || msg[1] instanceof ActorRef) &&
    Number.isSafeInteger(msg[2]) &&
    msg[2] >= 1
  );
}

/** The key of an ask waiting on another node: its asking endpoint and id, in one number. */
export function askKey(asker: number, askId: number): number {
  return askId * 0x1_0000 + asker;
}
