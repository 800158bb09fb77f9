import { afterEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../sandbox/clock.js';
import { Random } from '../../sandbox/random.js';
import type { Json } from '../../sandbox/serverless-config.js';
import { StepFunctionsSimulator } from '../../sandbox/step-functions.js';

/**
 * A Task's TimeoutSeconds is simulated time, like everything else in the sandbox. aws-local-stepfunctions races
 * each Task against a wall-clock timer of its TimeoutSeconds; in a burst of 500 drills on a loaded machine a
 * 60-second task (PrepareDrill, ReleaseSlots, RecordEvidence) could take longer than that in wall time while
 * taking seconds of simulated time, and its drill failed with States.Timeout. That is how the 500-burst of
 * BENCHMARKS.md lost drills that AWS would not have lost.
 */
const FUNCTION_ARN = 'arn:aws:lambda:us-east-2:222222222222:function:pilotlight-test-work';
const DEFINITION = {
  StartAt: 'Work',
  States: {
    Work: {
      Type: 'Task',
      Resource: FUNCTION_ARN,
      TimeoutSeconds: 60,
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' }],
      End: true,
    },
    TimedOut: { Type: 'Fail', Error: 'TimedOut' },
  },
} satisfies Record<string, Json>;

function simulator(clock: VirtualClock, invoke: (key: string, input: Json) => Promise<Json>) {
  return new StepFunctionsSimulator(
    'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-work',
    DEFINITION,
    new Map([[FUNCTION_ARN, 'work']]),
    { invoke },
    clock,
    new Random(7),
  );
}

/** Lets the engine and the handler run (wall-clock turns that fake timers do not hold back). */
async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the sandbox times Tasks on the virtual clock', () => {
  it('does not time a task out because its wall time passed its TimeoutSeconds', async () => {
    // Prepare: the engine's timers are fake wall-clock timers the test moves on by hand.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = new VirtualClock(Date.parse('2026-01-05T03:00:00.000Z'));
    let finish: (output: Json) => void = () => undefined;
    let invoked = false;
    const sfn = simulator(clock, () => {
      invoked = true;
      return new Promise<Json>((resolve) => {
        finish = resolve;
      });
    });
    sfn.startExecution({ stateMachineArn: sfn.arn, name: 'slow-wall', input: '{}' });
    for (let i = 0; i < 10; i++) {
      await turns();
      if (invoked) break;
      clock.fireNext(); // the invocation's simulated latency
    }
    expect(invoked).toBe(true);

    // Act: two wall-clock minutes pass while the handler runs (a busy machine), no simulated time does.
    vi.advanceTimersByTime(120_000);
    await turns();
    finish({ done: true });
    await turns();

    // Assess
    const execution = sfn.executions.get('slow-wall');
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.steps.map((step) => [step.name, step.status])).toEqual([['Work', 'SUCCEEDED']]);
  });

  it('times a task out when its simulated time passes its TimeoutSeconds', async () => {
    // Prepare: the handler takes 90 simulated seconds, the state allows 60.
    const clock = new VirtualClock(Date.parse('2026-01-05T03:00:00.000Z'));
    const started = clock.now;
    const sfn = simulator(clock, async () => {
      await clock.sleep(90_000);
      return { done: true };
    });
    sfn.startExecution({ stateMachineArn: sfn.arn, name: 'slow-simulated', input: '{}' });

    // Act
    for (let i = 0; i < 20 && sfn.open() > 0; i++) {
      await turns();
      clock.fireNext();
    }
    await turns();

    // Assess: States.Timeout after 60 s of the attempt (its latency included), caught by the state's Catch.
    const execution = sfn.executions.get('slow-simulated');
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error).toBe('TimedOut');
    expect(execution?.steps.map((step) => [step.name, step.status])).toEqual([['Work', 'TIMED_OUT']]);
    expect((execution?.stoppedAt ?? 0) - started).toBe(60_000);
  });
});

describe('the sandbox times the whole execution on the virtual clock', () => {
  const CALLBACK_DEFINITION = {
    StartAt: 'WaitForJob',
    // Two simulated hours for the whole execution; the callback itself would wait six days.
    TimeoutSeconds: 7200,
    States: {
      WaitForJob: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token' } },
        TimeoutSeconds: 518400,
        End: true,
      },
    },
  } satisfies Record<string, Json>;

  function callbackSimulator(clock: VirtualClock, definition: Record<string, Json>) {
    return new StepFunctionsSimulator(
      'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-work',
      definition,
      new Map([[FUNCTION_ARN, 'work']]),
      { invoke: async () => ({}) },
      clock,
      new Random(7),
    );
  }

  it('stops an execution TIMED_OUT with States.Timeout when it runs past TimeoutSeconds, and refuses its late callback', async () => {
    // Prepare: the job the task waits for never reports.
    const clock = new VirtualClock(Date.parse('2026-01-05T03:00:00.000Z'));
    const started = clock.now;
    const sfn = callbackSimulator(clock, CALLBACK_DEFINITION);
    sfn.startExecution({ stateMachineArn: sfn.arn, name: 'stuck', input: '{}' });

    // Act
    for (let i = 0; i < 20 && sfn.open() > 0; i++) {
      await turns();
      clock.fireNext();
    }
    await turns();

    // Assess
    const execution = sfn.executions.get('stuck');
    expect(execution?.status).toBe('TIMED_OUT');
    expect(execution?.error).toBe('States.Timeout');
    expect((execution?.stoppedAt ?? 0) - started).toBe(7_200_000);
    expect(sfn.describeExecution({ executionArn: execution?.arn }).status).toBe('TIMED_OUT');
    expect(
      sfn.listExecutions({ stateMachineArn: sfn.arn, statusFilter: 'TIMED_OUT' }).executions,
    ).toHaveLength(1);
    expect(() => sfn.sendTaskSuccess({ taskToken: execution?.latestToken, output: '{}' })).toThrow();
  });

  it('leaves an execution alone that ends before its TimeoutSeconds (nothing pending after it)', async () => {
    // Prepare
    const clock = new VirtualClock(Date.parse('2026-01-05T03:00:00.000Z'));
    const sfn = callbackSimulator(clock, CALLBACK_DEFINITION);
    sfn.startExecution({ stateMachineArn: sfn.arn, name: 'quick', input: '{}' });
    // Up to the callback wait: only the task's and the execution's limits are left on the clock.
    for (let i = 0; i < 10; i++) {
      await turns();
      if ((clock.nextAt() ?? 0) - clock.now > 60_000) break;
      clock.fireNext();
    }

    // Act
    sfn.sendTaskSuccess({ taskToken: sfn.executions.get('quick')?.latestToken, output: '{"done":true}' });
    await turns();

    // Assess
    expect(sfn.executions.get('quick')?.status).toBe('SUCCEEDED');
    expect(clock.hasForegroundTimers()).toBe(false);
  });
});

describe('the sandbox validates a state machine definition as the engine does', () => {
  function create(definition: Record<string, Json>) {
    return new StepFunctionsSimulator(
      'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-work',
      definition,
      new Map([[FUNCTION_ARN, 'work']]),
      { invoke: async () => ({}) },
      new VirtualClock(Date.parse('2026-01-05T03:00:00.000Z')),
      new Random(7),
    );
  }

  it('refuses an invalid definition every time, after a valid one was accepted (only valid ones are remembered)', () => {
    // A valid definition, twice: the second is not validated again.
    create(DEFINITION);
    create(DEFINITION);
    // The same machine with a state that names no next state and does not end.
    const invalid = {
      ...DEFINITION,
      States: { ...DEFINITION.States, Work: { ...DEFINITION.States.Work, End: false, Next: 'Nowhere' } },
    };

    expect(() => create(invalid)).toThrow(/State machine definition is invalid/);
    expect(() => create(invalid)).toThrow(/State machine definition is invalid/);
  });
});
