/**
 * Spare (standby) threads: Piscina runs `standbyThreads` workers bound to no
 * endpoint, so a dead thread's replacement is already running. They are kept
 * warm: each loads the runtime and every actor module spawned so far, each
 * spare on a worker of its own (control.ts).
 */
import type { HostTask } from '../engine/host.js';
import type { ControlPlane } from './control.js';

/** @internal The spares and what they preload. */
export class Spares {
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

  /**
   * Warms each spare thread: it loads the runtime and every actor module
   * spawned so far, so that taking over for a dead thread costs no loading.
   */
  warm(): void {
    if (this.control.closing) return;
    const modules = [...this.modulesSeen];
    for (let spare = 0; spare < this.standbyThreads; spare++) {
      void this.control.run({ op: 'standby', modules, setup: this.setup } as HostTask, { endpoint: -1, spare }).catch(() => undefined);
    }
  }

  /** An actor of `module` was spawned through the main thread: the spares load it too (once). */
  moduleSpawned(module: string): void {
    if (this.modulesSeen.has(module)) return;
    this.modulesSeen.add(module);
    this.warm();
  }
}
