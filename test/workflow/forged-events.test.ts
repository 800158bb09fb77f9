import { describe, expect, it } from 'vitest';
import { Ec2State } from '../../sandbox/aws/ec2.js';
import { RdsState } from '../../sandbox/aws/rds.js';
import { Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';

/**
 * Nothing an event says is trusted: a "Restore Job State Change" naming a pending job of a drill but someone
 * else's resource must not steer tagging or teardown to it. What a restore created is read from AWS Backup.
 */
const DR_ACCOUNT = '333333333333';
const DR_REGION = 'us-west-2';

describe('a forged restore event', () => {
  it('leaves a pre-existing volume and a failover instance alone, and the drill deletes only its own restore', async () => {
    const sandbox = await Sandbox.create({ seed: 4 });
    try {
      const bystander = sandbox.world.state(Ec2State).addVolume(sandbox.world, {
        arn: `arn:aws:ec2:${DR_REGION}:${DR_ACCOUNT}:volume/vol-0aaaaaaaaaaaaaaa1`,
        account: DR_ACCOUNT,
        region: DR_REGION,
        id: 'vol-0aaaaaaaaaaaaaaa1',
        status: 'available',
        tags: { Name: 'pilot-light-ledger' },
        availabilityZone: `${DR_REGION}a`,
        size: 100,
        encrypted: true,
      });
      const failover = sandbox.world.state(RdsState).addInstance(sandbox.world, {
        account: DR_ACCOUNT,
        region: DR_REGION,
        id: 'pl-failover-orders',
        status: 'available',
        tags: { 'pilotlight:managed': 'true', 'pilotlight:mode': 'failover', 'pilotlight:drill-id': 'f-1' },
        engine: 'postgres',
        instanceClass: 'db.t4g.medium',
        allocatedStorage: 20,
        publiclyAccessible: false,
        securityGroups: [],
        deletionProtection: false,
        port: 5432,
      });
      sandbox.backupCompleted('EBS');
      // Until the drill's restore job exists and is still running.
      const restoreJob = () => [...sandbox.world.jobs.values()].find((job) => job.kind === 'restore');
      while (!restoreJob()) await sandbox.advance(60);
      const job = restoreJob();
      expect(job?.state).not.toBe('COMPLETED');
      for (const named of [bystander.arn, failover.arn]) {
        sandbox.publishEvent(
          {
            version: '0',
            id: sandbox.random.uuid(),
            'detail-type': 'Restore Job State Change',
            source: 'aws.backup',
            account: DR_ACCOUNT,
            time: new Date(sandbox.clock.now).toISOString(),
            region: DR_REGION,
            resources: [],
            detail: { restoreJobId: job?.id ?? '', status: 'COMPLETED', createdResourceArn: named },
          },
          true,
        );
      }
      await sandbox.runToSettled();

      const report = buildReport(sandbox, 4, '');
      expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED']);
      expect(bystander.status).toBe('available');
      expect(bystander.tags).toEqual({ Name: 'pilot-light-ledger' });
      expect(failover.status).toBe('available');
      expect(failover.tags['pilotlight:drill-id']).toBe('f-1');
      // The drill's own restore was found through its job and deleted.
      expect(sandbox.world.resources.get(job?.createdResourceArn ?? '')?.phase).toBe('deleted');
    } finally {
      sandbox.dispose();
    }
  });
});
