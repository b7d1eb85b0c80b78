/**
 * Spare (standby) threads: Piscina runs `standbyThreads` workers bound to no
 * endpoint, so a dead thread's replacement is already running. They are kept
 * warm: each loads the runtime and every actor module spawned so far. The
 * first warm-up is what starts them (control.ts): `kStartAfterMs` after the
 * runtime started, or at once when a thread dies before that. Not beside
 * the pool's own threads: on two cores a spare starting with them (loading
 * the runtime, about 190 ms of a 620 ms start from TypeScript sources) or
 * during the first asks slowed both, and a runtime that lives less than
 * that (a test's) never pays for one.
 */
import type { HostTask } from '../engine/host.js';
import type { ControlPlane } from './control.js';

/** How long after the runtime's start its spares start (unless a thread dies first). */
const kStartAfterMs = 500;

/** @internal The spares and what they preload. */
export class Spares {
  /** True once the spares were started (warmed at least once). */
  private started = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Actor modules spawned through the main thread (what spares preload). */
  private readonly modulesSeen = new Set<string>();
  private readonly control: ControlPlane;
  private readonly standbyThreads: number;
  private readonly setup: string | undefined;

  constructor(control: ControlPlane, standbyThreads: number, setup: string | undefined) {
    this.control = control;
    this.standbyThreads = standbyThreads;
    this.setup = setup;
  }

  /** The runtime has started: its spares start in `kStartAfterMs`. */
  startSoon(): void {
    if (this.standbyThreads === 0 || this.started) return;
    this.timer = setTimeout(() => this.warm(), kStartAfterMs);
    this.timer.unref(); // not what keeps the process alive
  }

  /** The runtime shuts down: spares not started yet never start. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Warms each spare thread (starting it the first time): it loads the
   * runtime and every actor module spawned so far, so that taking over for a
   * dead thread costs no loading.
   */
  warm(): void {
    this.stop();
    if (this.control.closing) return;
    this.started = true;
    const modules = [...this.modulesSeen];
    for (let spare = 0; spare < this.standbyThreads; spare++) {
      void this.control.run({ op: 'standby', modules, setup: this.setup } as HostTask, { endpoint: -1, spare }).catch(() => undefined);
    }
  }

  /** An actor of `module` was spawned through the main thread: the spares load it too (once). */
  moduleSpawned(module: string): void {
    if (this.modulesSeen.has(module)) return;
    this.modulesSeen.add(module);
    if (this.started) this.warm(); // else the first warm-up takes it
  }
}
