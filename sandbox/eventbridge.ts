import type { VirtualClock } from './clock.js';
import { type EventBridgeEvent, matchesPattern } from './events.js';
import type { Faults } from './faults.js';
import { LambdaInvocationError, type LambdaRuntime } from './lambda-runtime.js';
import type { Random } from './random.js';
import type { Json, ServerlessConfig } from './serverless-config.js';

/** The job events AWS Backup sends as copy and restore jobs change state (faults events:jobs:*). */
const JOB_EVENTS = new Set(['Copy Job State Change', 'Restore Job State Change']);

/** What a scheduled function (reconciler, orphan sweeper) returned or how it failed, each run. */
export interface ScheduledRun {
  function: string;
  at: string;
  /** Filled in when the invocation (or, after Lambda's retries, its last attempt) ends. */
  outcomes: Delivery['outcomes'];
}

export interface Delivery {
  event: EventBridgeEvent;
  /** True for events from outside (a backup completing, or --event): their fate is reported. */
  external: boolean;
  outcomes: { target: string; result?: Json; error?: string }[];
  matched: boolean;
  dropped: boolean;
  delivered: boolean;
}

/**
 * EventBridge as the functions' rules see it: AWS Backup's events delivered best-effort (lag, drops, delays,
 * duplicates from the fault grammar) to every function whose rule pattern (serverless.yml) matches, schedules
 * (rate()) on the virtual clock, and Lambda's asynchronous invocation (two retries, then the dead-letter queue).
 */
export class EventBridge {
  readonly deliveries: Delivery[] = [];
  readonly deadLetters: { function: string; error: string }[] = [];
  /** Every run of a scheduled function, in the order they finished. */
  readonly scheduledRuns: ScheduledRun[] = [];

  constructor(
    private readonly config: ServerlessConfig,
    private readonly clock: VirtualClock,
    private readonly random: Random,
    private readonly faults: Faults,
    private readonly lambda: LambdaRuntime,
  ) {}

  /** A rate() schedule; with `input`, EventBridge sends that constant JSON instead of the Scheduled Event. */
  scheduleEvery(key: string, everyMs: number, input?: Json): void {
    this.clock.schedule(
      everyMs,
      () => {
        const at = new Date(this.clock.now).toISOString();
        const run: ScheduledRun = { function: key, at, outcomes: [] };
        this.scheduledRuns.push(run);
        void this.invokeAsync(
          key,
          input ?? { 'detail-type': 'Scheduled Event', source: 'aws.events', time: at, detail: {} },
          run.outcomes,
          0,
          true,
        );
        this.scheduleEvery(key, everyMs, input);
      },
      { background: true },
    );
  }

  /**
   * EventBridge delivers AWS Backup events best-effort and in batches (about every 5 minutes): each event
   * arrives after a lag, and faults can drop, delay or duplicate it.
   */
  publishEvent(event: EventBridgeEvent, external: boolean): void {
    // AWS Backup's events are best-effort, the trigger events included.
    const jobEvent = !external && JOB_EVENTS.has(event['detail-type']);
    const dropped =
      (this.faults.eventDrop > 0 && this.random.float() < this.faults.eventDrop) ||
      (jobEvent && this.faults.jobEventDrop > 0 && this.random.float() < this.faults.jobEventDrop);
    const delivery: Delivery = { event, external, outcomes: [], matched: false, dropped, delivered: false };
    this.deliveries.push(delivery);
    if (dropped) return;
    const { minSeconds, maxSeconds } = (jobEvent && this.faults.jobEventLag) || {
      minSeconds: 5,
      maxSeconds: 300,
    };
    for (let copy = 0; copy < this.faults.eventCopies; copy++) {
      const lag =
        external && copy === 0
          ? 0
          : this.random.seconds(minSeconds, maxSeconds) + this.faults.eventDelaySeconds * 1000;
      this.clock.schedule(lag, () => this.deliver(delivery));
    }
  }

  private deliver(delivery: Delivery): void {
    delivery.delivered = true;
    for (const fn of this.config.functions) {
      if (fn.eventBridge.some((rule) => matchesPattern(rule.pattern, delivery.event))) {
        delivery.matched = true;
        void this.invokeAsync(fn.key, delivery.event, delivery.outcomes);
      }
    }
  }

  /**
   * Asynchronous invocation (EventBridge, schedules): Lambda retries a failure twice, then dead-letters it.
   * The retries of a scheduled run belong to the schedule (background): like the schedule itself they never
   * keep the simulation alive on their own. A job check failing every minute would otherwise always have a
   * retry pending, and a run whose drills have all ended could never finish.
   */
  private async invokeAsync(
    key: string,
    event: Json,
    outcomes: Delivery['outcomes'],
    attempt = 0,
    background = false,
  ): Promise<void> {
    try {
      outcomes.push({ target: key, result: await this.lambda.invoke(key, event) });
    } catch (error) {
      const message =
        error instanceof LambdaInvocationError ? `${error.name}: ${error.message}` : String(error);
      if (attempt < 2) {
        this.clock.schedule(
          (attempt + 1) * 60_000,
          () => void this.invokeAsync(key, event, outcomes, attempt + 1, background),
          { background },
        );
      } else {
        outcomes.push({ target: key, error: message });
        this.deadLetters.push({ function: key, error: message });
      }
    }
  }
}
