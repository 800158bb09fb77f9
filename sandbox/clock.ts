import FakeTimers from '@sinonjs/fake-timers';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  /** Background timers (schedules) never keep the simulation alive on their own. */
  background: boolean;
}

/**
 * The sandbox's virtual clock: a discrete-event queue. Nothing waits in wall time; the simulation advances
 * the clock to the earliest pending timer and fires it. `Date` is faked to read this clock, so handlers,
 * the SDK and the state machine engine all see simulated time.
 */
export class VirtualClock {
  private timers: Timer[] = [];
  private seq = 0;
  private fakeDate: FakeTimers.InstalledClock | undefined;

  constructor(private current: number) {}

  get now(): number {
    return this.current;
  }

  /** Makes `new Date()` and `Date.now()` read simulated time until `uninstall`. */
  install(): void {
    this.fakeDate = FakeTimers.withGlobal(globalThis).install({ now: this.current, toFake: ['Date'] });
  }

  uninstall(): void {
    this.fakeDate?.uninstall();
    this.fakeDate = undefined;
  }

  schedule(delayMs: number, fire: () => void, options: { background?: boolean } = {}): () => void {
    const timer: Timer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      fire,
      background: options.background ?? false,
    };
    const index = this.timers.findIndex((t) => t.at > timer.at);
    if (index === -1) this.timers.push(timer);
    else this.timers.splice(index, 0, timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.schedule(delayMs, resolve));
  }

  hasForegroundTimers(): boolean {
    return this.timers.some((t) => !t.background);
  }

  /** When the earliest pending timer is due, if any. */
  nextAt(): number | undefined {
    return this.timers[0]?.at;
  }

  /** Moves time forward to `at` without firing anything (the caller fires what falls before it). */
  advanceTo(at: number): void {
    this.current = Math.max(this.current, at);
    this.fakeDate?.setSystemTime(this.current);
  }

  /** Advances to the earliest timer and fires it; false when nothing is scheduled. */
  fireNext(): boolean {
    const timer = this.timers.shift();
    if (!timer) return false;
    this.current = Math.max(this.current, timer.at);
    this.fakeDate?.setSystemTime(this.current);
    timer.fire();
    return true;
  }
}
