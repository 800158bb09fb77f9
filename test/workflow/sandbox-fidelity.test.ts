import { readFileSync } from 'node:fs';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { describe, expect, it } from 'vitest';
import { awsError, errorNames, errorSpec, sdkServices } from '../../sandbox/aws-errors.js';
import { DynamoDBClient, recreateTable, startDynalite } from '../../sandbox/dynamodb.js';
import { awsRegions, EventInputError, validateEvent } from '../../sandbox/estate.js';
import { FaultSpecError, parseFaults } from '../../sandbox/faults.js';
import { type EventBridgeEvent, Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';

/** The sandbox answers as AWS would: error statuses, fault names, events from anywhere, a settled world. */

const FUNCTIONS = ['intake', 'teardown'];

function sampleEvent(file: string): EventBridgeEvent {
  return JSON.parse(readFileSync(`events/${file}`, 'utf8')) as EventBridgeEvent;
}

/** The RDS backup sample, moved to another account, region and date (as `--event` would get it). */
function elsewhere(account: string, region: string, day: string): EventBridgeEvent {
  const text = JSON.stringify(sampleEvent('backup-job-completed-rds.json'))
    .replaceAll('111111111111', account)
    .replaceAll('us-east-2', region)
    .replaceAll('2026-01-05', day);
  return JSON.parse(text) as EventBridgeEvent;
}

/**
 * A seed per sandbox: the handlers' SDK clients (and the credentials they cached) outlive a sandbox in this
 * process, and the same seed hands out the same access key ids again, under another principal.
 */
let nextSeed = 50;

async function settled(
  drive: (sandbox: Sandbox) => void,
  options: { faults?: string[]; startAt?: number } = {},
) {
  const seed = nextSeed++;
  const sandbox = await Sandbox.create({ seed, faults: options.faults ?? [], startAt: options.startAt });
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    drive(sandbox);
    await sandbox.runToSettled();
    return { report: buildReport(sandbox, seed, startedAt), sandbox };
  } finally {
    sandbox.dispose();
  }
}

describe('Sandbox.create', () => {
  it('recreates the state table while dynalite is still creating or deleting it (the race, widened)', async () => {
    // dynalite answers CreateTable while the table is CREATING and DeleteTable while it is DELETING, and
    // finishes a timer later; here that takes 30 ms instead of a tick, so the race happens every time.
    const server = await startDynalite({ createTableMs: 30, deleteTableMs: 30 });
    const client = new DynamoDBClient({
      region: 'us-east-2',
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const table = {
      TableName: 'race-test',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    };
    try {
      for (let i = 0; i < 5; i++) await recreateTable(client, table);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('creates and disposes a sandbox 100 times in a row without a table race', async () => {
    for (let i = 0; i < 100; i++) {
      const sandbox = await Sandbox.create({ seed: i });
      sandbox.dispose();
    }
  }, 180_000);
});

describe('simulated AWS errors', () => {
  it.each([
    ['EC2', 'InternalError', 500],
    ['EC2', 'Unavailable', 503],
    ['SNS', 'InternalError', 500],
    ['Backup', 'ServiceUnavailableException', 500],
    ['DynamoDB', 'InternalServerError', 500],
    ['S3', 'InternalError', 500],
  ])('%s %s is a %i the SDK retries', (service, name, status) => {
    const error = awsError(service, name, 'simulated') as Error & { $metadata: { httpStatusCode: number } };

    expect(error.$metadata.httpStatusCode).toBe(status);
    expect(isServerError(error as never) || isTransientError(error as never)).toBe(true);
  });

  it('raises the SDK exception class the service models for an error code (SNS InternalError)', () => {
    expect(awsError('SNS', 'InternalError', 'x').name).toBe('InternalErrorException');
    expect(awsError('RDS', 'DBInstanceNotFoundFault', 'x')).toMatchObject({
      name: 'DBInstanceNotFoundFault',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('marks throttling as throttling and client errors as not retryable', () => {
    expect(isThrottlingError(awsError('EC2', 'RequestLimitExceeded', 'x') as never)).toBe(true);
    expect(isThrottlingError(awsError('SNS', 'Throttled', 'x') as never)).toBe(true);
    const denied = awsError('Backup', 'AccessDeniedException', 'x') as never;
    expect(isServerError(denied) || isTransientError(denied) || isThrottlingError(denied)).toBe(false);
  });

  it('documents a status for every error name a fault may use, and refuses names a service never returns', () => {
    for (const service of sdkServices.keys()) {
      for (const name of errorNames(service)) expect(errorSpec(service, name)?.status).toBeGreaterThan(0);
    }
    expect(() => awsError('EC2', 'NoSuchThing', 'x')).toThrow(/does not return/);
  });
});

describe('fault grammar', () => {
  it.each([
    ['api:Bakup.StartCopyJob=AccessDeniedException', /no AWS service "Bakup".*did you mean Backup/],
    [
      'api:Backup.StartCopyJobs=AccessDeniedException',
      /no operation "StartCopyJobs".*did you mean StartCopyJob/,
    ],
    ['api:EC2.DescribeVolumes=InternalErr', /never returns "InternalErr".*did you mean InternalError/],
    ['api:SNS.Publish=NoSuchBucket', /SNS never returns "NoSuchBucket"/],
    ['region:mars-1=down', /unknown fault/],
    ['region:us-north-9=down', /no AWS region "us-north-9"/],
    ['events:jobs:drop=1.5', /FRACTION must be between 0 and 1/],
    ['events:jobs:lag=300-10', /MIN must not exceed MAX/],
    ['events:jobs:lag=10', /unknown fault/],
  ])('rejects %s', (spec, message) => {
    expect(() => parseFaults([spec], FUNCTIONS)).toThrow(FaultSpecError);
    expect(() => parseFaults([spec], FUNCTIONS)).toThrow(message);
  });

  it('accepts any operation the SDK client has and any error the service returns', () => {
    const faults = parseFaults(
      [
        'api:EC2.DescribeVpcs=InternalError*2',
        'api:ResourceGroupsTaggingAPI.GetResources=ThrottledException',
        'api:SNS.Publish=InternalErrorException',
        'region:ap-southeast-2=down',
      ],
      FUNCTIONS,
    );
    expect(faults.api.get('EC2.DescribeVpcs')).toEqual({ error: 'InternalError', remaining: 2 });
    expect(faults.downRegions.has('ap-southeast-2')).toBe(true);
  });

  it('reads the job-event faults: a lost fraction and a lag range, in seconds', () => {
    const faults = parseFaults(['events:jobs:drop=0.1', 'events:jobs:lag=0-300'], FUNCTIONS);
    expect(faults.jobEventDrop).toBe(0.1);
    expect(faults.jobEventLag).toEqual({ minSeconds: 0, maxSeconds: 300 });
    expect(faults.eventDrop).toBe(0);
  });

  it('loses only the copy and restore job events with events:jobs:drop, and the reconciler resumes the drill', async () => {
    // Prepare
    const sandbox = await Sandbox.create({ seed: 3, faults: ['events:jobs:drop=1'] });
    try {
      sandbox.backupCompleted('EBS', 1);

      // Act
      await sandbox.run();

      // Assess
      const jobEvents = sandbox.deliveries.filter(
        (d) => d.event['detail-type'].endsWith('Job State Change') && !d.external,
      );
      expect(jobEvents.length).toBeGreaterThanOrEqual(2);
      expect(jobEvents.every((d) => d.dropped)).toBe(true);
      expect(sandbox.deliveries.filter((d) => d.external).every((d) => d.delivered)).toBe(true);
      expect([...sandbox.stepFunctions.executions.values()].map((e) => e.status)).toEqual(['SUCCEEDED']);
    } finally {
      sandbox.dispose();
    }
  });

  it('takes the region list from the SDK partition data', () => {
    expect(awsRegions.has('us-east-2')).toBe(true);
    expect(awsRegions.has('eu-central-2')).toBe(true);
    expect(awsRegions.has('mars-1')).toBe(false);
  });
});

describe('retries as the SDK does against a 5xx', () => {
  it('retries a DescribeVolumes InternalError and the EBS drill succeeds', async () => {
    const { report, sandbox } = await settled((s) => s.backupCompleted('EBS'), {
      faults: ['api:EC2.DescribeVolumes=InternalError*1'],
    });

    expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED']);
    expect(sandbox.faults.api.get('EC2.DescribeVolumes')?.remaining).toBe(0);
    expect(sandbox.sdkBackoffs.length).toBeGreaterThan(0);
  });
});

describe('events from anywhere (--event)', () => {
  // An event from another account (added with --source-account): test/workflow/source-accounts.test.ts, which
  // runs the deployment with that account among its sourceAccounts.

  it('measures RTO over the whole drill a copy-job event triggers', async () => {
    const event = sampleEvent('copy-job-completed-dr-vault.json');
    const { report } = await settled((s) => s.deliverEvent(event), { startAt: Date.parse(event.time) });

    const drill = report.drills[0];
    const first = drill?.steps[0]?.startedAt ?? '';
    const validated = drill?.steps.find((step) => step.name === 'ValidateRestore')?.endedAt ?? '';
    expect(drill?.status).toBe('SUCCEEDED');
    expect(drill?.rtoSeconds).toBeGreaterThanOrEqual((Date.parse(validated) - Date.parse(first)) / 1000 - 1);
  });

  it('delivers several events in order, each at its time', async () => {
    const first = sampleEvent('backup-job-completed-ebs.json');
    const second = elsewhere('111111111111', 'eu-west-1', '2026-01-05');
    second.time = '2026-01-05T03:30:00Z';
    const { report, sandbox } = await settled(
      (s) => {
        s.deliverEvent(first);
        s.deliverEvent(second);
      },
      { startAt: Date.parse(first.time) },
    );

    expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const delivered = sandbox.deliveries.filter((d) => d.external).map((d) => d.event.id);
    expect(delivered).toEqual([first.id, second.id]);
    const prepared = report.drills.map((d) => d.steps[0]?.startedAt ?? '');
    expect(Date.parse(prepared[1] ?? '')).toBeGreaterThanOrEqual(Date.parse(second.time));
  });

  it.each([
    ['an S3 ARN for an RDS backup', { resources: ['arn:aws:s3:::bucket/key'] }, /not a RDS recovery point/],
    ['region mars-1', { region: 'mars-1' }, /"mars-1" is not an AWS region/],
    [
      'a 1 MB ARN',
      { resources: [`arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-${'a'.repeat(1_000_000)}`] },
      /AWS allows 1600/,
    ],
    [
      'a recovery point of another account',
      { resources: ['arn:aws:rds:us-east-2:999999999999:snapshot:awsbackup:job-1'] },
      /belongs to 999999999999, not 111111111111/,
    ],
    [
      'a recovery point in another region',
      { resources: ['arn:aws:rds:us-west-1:111111111111:snapshot:awsbackup:job-1'] },
      /is in us-west-1, not the event's region us-east-2/,
    ],
    [
      'an EBS snapshot for an RDS backup',
      { resources: ['arn:aws:ec2:us-east-2::snapshot/snap-0a1b2c3d4e5f60718'] },
      /not a RDS recovery point/,
    ],
  ])('rejects %s as AWS would', (_what, change, message) => {
    const event = { ...sampleEvent('backup-job-completed-rds.json'), ...change } as EventBridgeEvent;

    expect(() => validateEvent(event)).toThrow(EventInputError);
    expect(() => validateEvent(event)).toThrow(message);
  });

  it('accepts every sample event', () => {
    for (const file of [
      'backup-job-completed-rds.json',
      'backup-job-completed-ebs.json',
      'backup-job-completed-dynamodb.json',
      'backup-job-completed-s3.json',
      'backup-job-completed-redshift.json',
      'backup-job-failed.json',
      'copy-job-completed-dr-vault.json',
      'restore-job-completed.json',
    ])
      expect(() => validateEvent(sampleEvent(file))).not.toThrow();
  });
});

describe('a settled world', () => {
  it('leaves nothing once the sweeper has run after a teardown that crashes every time', async () => {
    const { report, sandbox } = await settled((s) => s.backupCompleted('RDS'), {
      faults: ['lambda:teardown=crash'],
    });

    expect(report.drills.map((d) => d.status)).toEqual(['FAILED']);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.swept).toHaveLength(1);
    expect(report.sandbox.swept[0]).toMatch(/^arn:aws:rds:us-west-2:333333333333:db:/);
    expect(sandbox.simulatedSeconds).toBeLessThanOrEqual(
      (Date.parse(report.drills[0]?.steps.at(-1)?.endedAt ?? '') - sandbox.epoch) / 1000 +
        sandbox.settleHorizonMs / 1000,
    );
  });

  it('ends a run whose scheduled job check fails every minute once the drills have ended (retries of a schedule are the schedule)', async () => {
    const { report, sandbox } = await settled((s) => s.backupCompleted('EBS'), {
      faults: ['lambda:reconcile=crash'],
    });

    expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED']);
    // The job check crashed every minute, each run retried twice a minute apart: a retry was always pending.
    expect(sandbox.deadLetters.filter((d) => d.function === 'reconcile').length).toBeGreaterThan(10);
    const lastStep = Date.parse(report.drills[0]?.steps.at(-1)?.endedAt ?? '');
    expect(sandbox.clock.now - lastStep).toBeLessThan(sandbox.settleHorizonMs / 2);
  });

  it('stops at the horizon when something cannot be deleted, and reports it left', async () => {
    const { report } = await settled((s) => s.backupCompleted('EBS'), { faults: ['teardown=fail'] });

    expect(report.sandbox.resourcesLeft).toBe(1);
    expect(report.sandbox.kept).toEqual([]);
    expect(report.sandbox.swept).toEqual([]);
  });

  it('keeps what a failover restored without waiting for the horizon', async () => {
    const { report, sandbox } = await settled((s) => {
      const backup = s.backupCompleted('EBS', 1, { announce: false });
      s.startManual(
        {
          mode: 'failover',
          source: {
            account: '111111111111',
            region: 'us-east-2',
            resourceType: 'EBS',
            recoveryPointArn: backup.resources[0] ?? '',
            backupVaultName: 'Default',
          },
        },
        'failover-ebs',
      );
    });

    const failover = report.drills.find((d) => d.mode === 'failover');
    expect(failover?.status).toBe('SUCCEEDED');
    expect(report.sandbox.kept).toHaveLength(1);
    expect(report.sandbox.kept).toEqual(report.sandbox.leftBehind);
    const lastStep = Math.max(...report.drills.map((d) => Date.parse(d.steps.at(-1)?.endedAt ?? '')));
    expect(sandbox.clock.now - lastStep).toBeLessThan(sandbox.settleHorizonMs / 2);
  });
});

describe('Step Functions payload quota', () => {
  it('refuses an execution input over 256 KiB, as StartExecution does', async () => {
    const sandbox = await Sandbox.create({ seed: 41 });
    try {
      const huge = { mode: 'drill', note: 'x'.repeat(262_144) };

      expect(() => sandbox.startManual(huge, 'too-large')).toThrow(/larger than 262144 bytes/);
      expect(sandbox.stepFunctions.executions.size).toBe(0);
    } finally {
      sandbox.dispose();
    }
  });
});

describe('AWS Backup: one backup or copy job per resource at a time', () => {
  it('refuses a second copy of the same resource while one runs, and allows it once the first is done', async () => {
    const sandbox = await Sandbox.create({ seed: 43 });
    try {
      const caller = {
        account: '111111111111',
        region: 'us-east-2',
        roleArn: 'arn:aws:iam::111111111111:role/x',
      };
      const point = (index: number) =>
        sandbox.world.addRecoveryPoint({
          account: caller.account,
          region: caller.region,
          vaultName: 'Default',
          resourceType: 'EBS',
          resourceArn: 'arn:aws:ec2:us-east-2:111111111111:volume/vol-0123456789abcdef0',
          createdAt: sandbox.clock.now - index * 3_600_000,
          completedAt: sandbox.clock.now,
        });
      const copy = (arn: string, token: string) =>
        sandbox.world.backup.startCopyJob(caller, {
          RecoveryPointArn: arn,
          SourceBackupVaultName: 'Default',
          DestinationBackupVaultArn: 'arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr',
          IamRoleArn: 'arn:aws:iam::111111111111:role/pilotlight-backup-copy',
          IdempotencyToken: token,
        });
      const [first, second] = [point(1), point(2)];
      copy(first.arn, 'a');

      expect(() => copy(second.arn, 'b')).toThrow(/already running \(one concurrent job per resource\)/);
      await sandbox.advance(6 * 3600);
      expect(copy(second.arn, 'b').CopyJobId).toMatch(/^[0-9A-F-]{36}$/);
    } finally {
      sandbox.dispose();
    }
  });
});
