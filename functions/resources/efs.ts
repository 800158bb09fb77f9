import type { FileSystemDescription } from '@aws-sdk/client-efs';
import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The EFS SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const efsSdk = lazySdk(() => import('./sdk/efs.js'));

/**
 * What an empty EFS file system meters (SizeInBytes.Value): a restore that brought back no data is this size.
 * AWS Backup's restore metadata for EFS holds no size, so the restore is only checked to hold data at all.
 */
export const EMPTY_FILE_SYSTEM_BYTES = 6144;

/** EFS CreationToken: 1 to 64 characters; the drill's name makes a retried restore idempotent. */
export function creationTokenFor(drillId: string): string {
  return drillResourceName(drillId, 64);
}

async function describeFileSystem(
  clients: AccountClients,
  fileSystemId: string,
): Promise<FileSystemDescription | undefined> {
  const { DescribeFileSystemsCommand, EFSClient } = await efsSdk();
  const result = await clients
    .client(EFSClient)
    .send(new DescribeFileSystemsCommand({ FileSystemId: fileSystemId }));
  return result.FileSystems?.[0];
}

async function mountTargetsOf(clients: AccountClients, fileSystemId: string) {
  const { DescribeMountTargetsCommand, EFSClient } = await efsSdk();
  const result = await clients
    .client(EFSClient)
    .send(new DescribeMountTargetsCommand({ FileSystemId: fileSystemId }));
  return result.MountTargets ?? [];
}

/**
 * Amazon EFS file systems: the recovery point is AWS Backup's own (arn:aws:backup:…:recovery-point:<uuid>);
 * a full restore to a new file system creates one, with no mount targets (Pilotlight creates none: the data
 * is checked through the EFS API, never mounted).
 */
export const efs: ResourceModule = {
  type: 'EFS',
  taggingTypes: ['elasticfilesystem:file-system'],
  // Its recovery points' own ARN form (AWS Backup's `recovery-point:` ARNs name no type: none here).
  ownsRecoveryPoint: () => false,
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'elasticfilesystem' && /^file-system\/fs-[0-9a-f]+$/.test(parsed.resource);
  },
  // A new file system is available within minutes of its restore job.
  readiness: { budgetSeconds: 3600 },
  typicalRestore: { seconds: 1200, perGiBSeconds: 3 },

  restoreMetadata(base, drill) {
    const metadata = { ...base };
    // A key of the source account cannot be used here: without KmsKeyId, EFS encrypts with the DR account's
    // aws/elasticfilesystem key.
    delete metadata.KmsKeyId;
    return {
      ...metadata,
      newFileSystem: 'true',
      Encrypted: 'true',
      CreationToken: creationTokenFor(drill.drillId),
    };
  },

  async tag(clients, resourceArn, tags) {
    const { EFSClient, TagResourceCommand } = await efsSdk();
    await clients
      .client(EFSClient)
      .send(new TagResourceCommand({ ResourceId: resourceIdFromArn(resourceArn), Tags: tagList(tags) }));
  },

  async readTags(clients, resourceArn) {
    const { EFSClient, FileSystemNotFound, ListTagsForResourceCommand } = await efsSdk();
    try {
      const result = await clients
        .client(EFSClient)
        .send(new ListTagsForResourceCommand({ ResourceId: resourceIdFromArn(resourceArn) }));
      return tagsOf(result.Tags);
    } catch (error) {
      if (error instanceof FileSystemNotFound) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const fileSystemId = resourceIdFromArn(resourceArn);
    const fileSystem = await describeFileSystem(clients, fileSystemId);
    if (!fileSystem) return [check('resource-exists', false, `file system ${fileSystemId} not found`)];
    const state = fileSystem.LifeCycleState ?? 'unknown';
    if (state === 'creating' || state === 'updating')
      throw new ResourceNotReady(`file system ${fileSystemId} is ${state}`);

    const mountTargets = await mountTargetsOf(clients, fileSystemId);
    const outside = mountTargets.filter(
      (target) => !config.RESTORE_SUBNET_IDS.includes(target.SubnetId ?? ''),
    );
    const size = fileSystem.SizeInBytes?.Value ?? 0;
    const expectedMode = expected.PerformanceMode;
    return [
      check('resource-available', state === 'available', `LifeCycleState is ${state}`),
      check('encrypted', fileSystem.Encrypted === true, `Encrypted=${fileSystem.Encrypted}`),
      check(
        'isolated-network',
        outside.length === 0,
        `${mountTargets.length} mount targets, outside the DR subnets: ${outside.map((t) => `${t.MountTargetId}@${t.SubnetId}`).join(',') || 'none'}`,
      ),
      taggedCheck(tagsOf(fileSystem.Tags), drill.drillId),
      check(
        'data-integrity',
        size > EMPTY_FILE_SYSTEM_BYTES && (!expectedMode || fileSystem.PerformanceMode === expectedMode),
        `${size} bytes metered (an empty file system meters ${EMPTY_FILE_SYSTEM_BYTES}), performance mode ${fileSystem.PerformanceMode} (backup: ${expectedMode ?? 'n/a'})`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    const { FileSystemNotFound } = await efsSdk();
    try {
      const fileSystemId = resourceIdFromArn(resourceArn);
      const state = (await describeFileSystem(clients, fileSystemId))?.LifeCycleState;
      if (state === undefined || state === 'deleted') return 'gone';
      if (state === 'deleting') return 'deleting';
      // Mount targets being deleted: nothing to ask for until they are gone and the file system can go.
      const targets = await mountTargetsOf(clients, fileSystemId);
      const waiting = targets.length > 0 && targets.every((target) => target.LifeCycleState === 'deleting');
      return waiting ? 'deleting' : 'present';
    } catch (error) {
      if (error instanceof FileSystemNotFound) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const {
      DeleteFileSystemCommand,
      DeleteMountTargetCommand,
      EFSClient,
      FileSystemNotFound,
      MountTargetNotFound,
    } = await efsSdk();
    const fileSystemId = resourceIdFromArn(resourceArn);
    try {
      // EFS refuses to delete a file system with mount targets (FileSystemInUse): they go first, and the
      // file system on a later call, once DescribeMountTargets lists none.
      const mountTargets = await mountTargetsOf(clients, fileSystemId);
      if (mountTargets.length > 0) {
        const deleted: string[] = [];
        for (const target of mountTargets) {
          if (target.LifeCycleState === 'deleting' || !target.MountTargetId) continue;
          try {
            await clients
              .client(EFSClient)
              .send(new DeleteMountTargetCommand({ MountTargetId: target.MountTargetId }));
            deleted.push(target.MountTargetId);
          } catch (error) {
            if (!(error instanceof MountTargetNotFound)) throw error;
          }
        }
        return { status: 'deleted', deleted };
      }
      await clients.client(EFSClient).send(new DeleteFileSystemCommand({ FileSystemId: fileSystemId }));
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (error instanceof FileSystemNotFound) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
