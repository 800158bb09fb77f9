import { describe, expect, it } from 'vitest';
import { FsxState } from '../../sandbox/resources/fsx.js';
import { simulate } from './harness.js';

/**
 * FSx backups come in variants (Windows File Server, Lustre, OpenZFS; single- or multi-AZ): each is restored
 * with the functions' overrides, accepted by the sandbox's FSx rules (one subnet, or two with a preferred one),
 * checked and deleted without a final backup.
 */
describe('FSx variants', () => {
  it('drills backups of several variants to SUCCEEDED, each in the DR subnets, leaving no file system or backup', async () => {
    // Prepare
    const backups = 6;

    // Act
    const { report, sandbox } = await simulate(
      (s) => {
        for (let index = 1; index <= backups; index += 1) s.backupCompleted('FSx', index);
      },
      { seed: 11, settle: true },
    );

    // Assess
    expect(report.drills.map((drill) => drill.status)).toEqual(Array(backups).fill('SUCCEEDED'));
    expect(report.sandbox.resourcesLeft).toBe(0);
    const restored = [...sandbox.world.state(FsxState).fileSystems.values()];
    expect(new Set(restored.map((f) => f.fileSystemType)).size).toBeGreaterThanOrEqual(2);
    expect(restored.some((f) => f.subnetIds.length === 2)).toBe(true);
    for (const fileSystem of restored) {
      const multiAz = fileSystem.deploymentType === 'MULTI_AZ_1' && fileSystem.fileSystemType !== 'LUSTRE';
      expect(fileSystem.subnetIds).toEqual(
        multiAz ? ['subnet-0a1b2c3d4e5f60711', 'subnet-0a1b2c3d4e5f60722'] : ['subnet-0a1b2c3d4e5f60711'],
      );
      expect(fileSystem.automaticBackupRetentionDays).toBe(0);
      expect(fileSystem.phase).toBe('deleted');
    }
    // Deleted with SkipFinalBackup: FSx kept no backup of any of them.
    expect(sandbox.world.state(FsxState).backups.size).toBe(0);
  });
});
