/**
 * A region handle: the small plain value that names an allocation of the
 * memory pool. It travels in messages (codec tag 2) and is checked on every
 * use: (region, generation) must still name a live allocation, and the user
 * must own it, or hold the loan (`lease`) it names.
 */
export class RegionHandle {
  /** Index of the allocation's first region. */
  readonly region: number;
  /** Generation of the allocation: a freed or evicted allocation's handles go stale. */
  readonly gen: number;
  /** Bytes allocated (the views cover exactly these). */
  readonly byteLength: number;
  /** 0 for the owner's handle; otherwise 1 + the loan's row (a read-only loan made by `share`). */
  readonly lease: number;
  /** The loan row's serial when the loan was made: an old loan's handle goes stale. */
  readonly leaseSerial: number;

  /** @internal Handles come from `ctx.memory.alloc` and `ctx.memory.share`. */
  constructor(region: number, gen: number, byteLength: number, lease: number, leaseSerial: number) {
    this.region = region;
    this.gen = gen;
    this.byteLength = byteLength;
    this.lease = lease;
    this.leaseSerial = leaseSerial;
  }

  /** True for a read-only loan (from `share`), false for the owner's handle. */
  get borrowed(): boolean {
    return this.lease !== 0;
  }

  /** `Region(region.gen, bytes B)`, with ` loan N` for a loan's handle: how errors name it. */
  toString(): string {
    return `Region(${this.region}.${this.gen}${this.lease ? ` loan ${this.lease}` : ''}, ${this.byteLength} B)`;
  }
}
