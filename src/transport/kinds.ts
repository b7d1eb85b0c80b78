/**
 * What a frame body says: its kind byte and the layout of each kind, in one
 * place. The transport moves bodies without looking inside them (the u32
 * frame header in front of each body is ring.ts's; finding frames in ring
 * bytes is frames.ts's); the engine writes them (engine/router.ts,
 * engine/link.ts), reads them (engine/inbound.ts), and the main thread
 * peeks into journaled ones after a thread died (engine/recovery.ts; the
 * journal keeps bodies as they came out of the ring, journal.ts).
 * Little-endian, no padding; `value` is one codec value (codec.ts) and runs
 * to the end of the body.
 *
 *   byte      0        1          5          9           13          17          21
 *             +--------+----------+----------+-----------+-----------+-----------+-----------+--------
 *   TELL      | u8 1   | u32 slot | u32 gen  | i32 sSlot | u32 sGen  | value ...
 *   ASK       | u8 2   | u32 slot | u32 gen  | i32 sSlot | u32 sGen  | u32 askId | value ...
 *   FORWARD   | u8 7   | u32 slot | u32 gen  | i32 sSlot | u32 sGen  | i32 asker | u32 askId | value ...
 *             +--------+----------+----------+-----------+-----------+-----------+-----------+--------
 *     slot, gen: the actor it is for; sSlot, sGen: its sender (-1, 0: none).
 *     An ASK is answered to the endpoint it came from; a FORWARD (a migrating
 *     actor's mailbox, moved from its old thread) names the asking endpoint
 *     itself, -1 for a tell.
 *
 *   byte      0        1            5
 *             +--------+------------+---------+
 *   REPLY     | u8 3/4 | u32 askId  | value   |   3: the answer; 4: an error, the ask rejects
 *   SYSTEM    | u8 5   | u32 askId  | value   |   value { op, ... }; askId 0: no answer wanted
 *             +--------+------------+---------+
 *
 *   byte      0        1            5          9            13
 *             +--------+------------+----------+------------+
 *   CARRIED   | u8 6   | u32 region | u32 gen  | u32 length |   a TELL or ASK body too large for the ring,
 *             +--------+------------+----------+------------+   in a pool allocation the receiver frees
 *
 *   byte      0        1          5                          5 + 8n      9 + 8n
 *             +--------+----------+--------------------------+-----------+-----------+--------
 *   MULTICAST | u8 8   | u32 n    | (u32 slot, u32 gen) x n  | i32 sSlot | u32 sGen  | value ...
 *             +--------+----------+--------------------------+-----------+-----------+--------
 *     one message for n actors of the receiving thread, a tell to each
 *
 *   A sender of another cluster node (a ref with a node) is written as
 *   sSlot -2, sGen 0, and the ref itself as one codec value right before the
 *   message value (after the ask id, or the asker and ask id).
 *
 *   Trace context (engine/tracing.ts): a TELL, ASK, FORWARD or MULTICAST sent
 *   in a trace has bit 7 of its kind byte set (kTraced: 0x81, 0x82, 0x87,
 *   0x88), and the
 *   trace field right before the message value (after the remote sender, if
 *   any). A frame sent outside a trace has neither: not one byte more.
 *             +----------+---------------+-------------+----------------------+
 *   TRACE     | u8 flags | 16 B trace id | 8 B span id | str tracestate or '' |
 *             +----------+---------------+-------------+----------------------+
 *     the W3C traceparent's fields (version 00) in binary, and its tracestate
 *     header; 29 bytes when there is no tracestate (engine/trace-field.ts)
 *
 *   byte      0        1          1 + s
 *             +--------+----------+-----------------------------------------
 *   REMOTE    | u8 9   | str node | a cluster record (below), for that node
 *             +--------+----------+-----------------------------------------
 *     a pool thread's message for an actor of another node, sent to the
 *     main thread, which owns the cluster connection and batches records
 *     per node (cluster/gateway.ts)
 *
 *   Cluster record (what travels between nodes, many per NATS message):
 *   byte      0        1          5          9            13         17           21
 *             +--------+----------+----------+------------+----------+------------+--------------+-----------+
 *   RECORD    | u8 k   | u32 slot | u32 gen  | u32 asker  | u32 askId| u32 timeout| value sender | value msg |
 *             +--------+----------+----------+------------+----------+------------+--------------+-----------+
 *     k: 1 TELL, 2 ASK (slot, gen: the actor on the receiving node; asker:
 *     the asking endpoint on the sending node; timeout: the asker's, ms), 3
 *     or 4 a REPLY to (asker, askId) on the receiving node (slot, gen 0;
 *     sender undefined; msg: the answer, or the error), 5 a TOPIC publish
 *     (every u32 0; msg: [topic name, message], for the receiving node's
 *     subscribers), 6 an ENTITY message (slot, gen 0; msg: [module, key,
 *     message], or [module, key, message, 1] for one the receiving node
 *     delivers itself rather than forwarding by a hint; asker 0xffff and
 *     askId > 0 for an ask, answered by a REPLY to the sending node's
 *     entity manager), 7 a swarm TERM (every u32 0;
 *     msg: [swarm name, leader ref or undefined, term], for the receiving
 *     node's threads, where members of the swarm live), 8 a WATCH and 9
 *     an UNWATCH (slot, gen: the watched actor on the receiving node; the
 *     other u32s 0; sender: the watcher, an actor of the sending node; msg
 *     undefined): the receiving node registers (removes) the watcher on
 *     that actor, whose Terminated goes back as an ordinary TELL
 *     A TELL or ASK record sent in a trace has kTraced set in k and the
 *     trace field between the sender and the message.
 */

/** A one-way message to one actor. */
export const kTell = 1;
/** A message to one actor that expects an answer (a REPLY to the sending endpoint). */
export const kAsk = 2;
/** The answer to an ASK or a SYSTEM request. */
export const kReplyOk = 3;
/** An error answering an ASK or a SYSTEM request: it rejects. */
export const kReplyError = 4;
/** A control-plane request between endpoints. */
export const kSystem = 5;
/** A TELL or ASK body too large for the ring, carried in a pool allocation. */
export const kCarried = 6;
/** A message moved from a migrating actor's old thread. */
export const kForward = 7;
/** One message for several actors of the receiving thread. */
export const kMulticast = 8;

/**
 * Set in the kind byte of a TELL, ASK, FORWARD or MULTICAST frame (and of a TELL or ASK
 * cluster record) that carries a trace context; `kind & kKindMask` is the kind.
 */
export const kTraced = 0x80;
/** The kind in a kind byte that may carry kTraced. */
export const kKindMask = 0x7f;

/** A pool thread's message for an actor of another cluster node (to the main thread). */
export const kRemote = 9;
/** sSlot of a sender of another node: the ref follows as a codec value. */
export const kRemoteSender = -2;
/** Cluster record: where its fields sit. */
export const kRecordAskerAt = 9;
export const kRecordAskIdAt = 13;
export const kRecordTimeoutAt = 17;
export const kRecordHeaderBytes = 21;
/** Cluster record kind: a publish to a topic, for the receiving node's subscribers. */
export const kRecordTopic = 5;
/** Cluster record kind: a message for a cluster entity. */
export const kRecordEntity = 6;
/** Cluster record kind: a swarm's new leader and term, for the threads of the receiving node. */
export const kRecordTerm = 7;
/** Cluster record kind: death watch of an actor of the receiving node by an actor of the sending node. */
export const kRecordWatch = 8;
/** Cluster record kind: the end of a WATCH. */
export const kRecordUnwatch = 9;
/** A cluster record's asker for an entity ask: the sending node's entity manager, not an endpoint. */
export const kEntityAsker = 0xffff;

/** TELL, ASK, FORWARD: the slot and generation of the actor it is for. */
export const kSlotAt = 1;
export const kGenAt = 5;
/** ASK: the ask id. FORWARD: the asking endpoint (the ask id follows at 21). */
export const kAskIdAt = 17;
/** CARRIED: the pool allocation holding the body (see memory/pool.ts). */
export const kCarriedRegionAt = 1;
export const kCarriedGenAt = 5;
export const kCarriedLengthAt = 9;
/** MULTICAST: how many targets, then (slot, gen) each from kMulticastTargetsAt. */
export const kMulticastCountAt = 1;
export const kMulticastTargetsAt = 5;
