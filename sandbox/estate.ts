import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArn } from '../functions/lib/arn.js';
import type { EventBridgeEvent } from './events.js';
import { sandboxTypes } from './resources/index.js';
import type { SandboxResourceType } from './resources/types.js';
import type { Json } from './serverless-config.js';

/**
 * What an event from outside (`pilotlight drill --event`) refers to, checked as AWS would check it, and the
 * estate it implies: the source account (in the organization, with the source-account stack the StackSet
 * deploys), its region, the resource and its recovery point.
 */
export class EventInputError extends Error {
  override readonly name = 'EventInputError';
}

/**
 * The regions of the `aws` partition, from the partition data the AWS SDK ships (@aws-sdk/core's copy of
 * util-endpoints' partitions.json), so a new region needs an SDK update, not an edit here.
 */
function loadRegions(): ReadonlySet<string> {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('@aws-sdk/core')), '..');
  const file = join(root, 'dist-es', 'submodules', 'client', 'util-endpoints', 'lib', 'aws', 'partitions.js');
  const text = readFileSync(file, 'utf8');
  const data = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as {
    partitions: { id: string; regions: Record<string, unknown> }[];
  };
  const aws = data.partitions.find((partition) => partition.id === 'aws');
  if (!aws) throw new Error(`${file} has no "aws" partition`);
  return new Set(Object.keys(aws.regions).filter((region) => region !== 'aws-global'));
}

export const awsRegions = loadRegions();

/** The longest ARN AWS Backup accepts (RecoveryPointArn, ResourceArn: 1600 characters). */
export const MAX_ARN_LENGTH = 1600;

/** The recovery point ARN forms AWS Backup produces for a type the sandbox simulates (its module says). */
function recoveryPointForm(resourceType: string): SandboxResourceType['recoveryPointForm'] | undefined {
  return sandboxTypes.find((type) => type.type === resourceType)?.recoveryPointForm;
}

function text(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * A recovery point ARN as AWS Backup would accept it for this event: the right service and form for the
 * resource type, in the event's region and (where an ARN carries one) account, at most 1600 characters.
 */
function checkRecoveryPoint(
  field: string,
  value: string,
  resourceType: string,
  where: { region: string; account: string },
): void {
  if (value.length > MAX_ARN_LENGTH)
    throw new EventInputError(`${field} is ${value.length} characters (AWS allows ${MAX_ARN_LENGTH})`);
  const arn = parseArn(value);
  const form = recoveryPointForm(resourceType);
  // A type the sandbox does not simulate is not drilled (intake skips it); there is no form to check.
  if (!form) {
    if (!arn) throw new EventInputError(`${field} ${value.slice(0, 80)} is not an ARN`);
    return;
  }
  if (!arn || !form.fits(arn))
    throw new EventInputError(`${field} ${value} is not a ${resourceType} recovery point (${form.describe})`);
  if (arn.region !== where.region)
    throw new EventInputError(
      `${field} ${value} is in ${arn.region}, not the event's region ${where.region}`,
    );
  if (arn.account !== '' && arn.account !== where.account)
    throw new EventInputError(`${field} ${value} belongs to ${arn.account}, not ${where.account}`);
}

/** Any other ARN the event names (resource, vault): the event's region and account when it carries them. */
function checkArn(
  field: string,
  value: string | undefined,
  where: { region: string; account: string },
): void {
  if (value === undefined) return;
  if (value.length > MAX_ARN_LENGTH)
    throw new EventInputError(`${field} is ${value.length} characters (AWS allows ${MAX_ARN_LENGTH})`);
  const arn = parseArn(value);
  if (!arn) throw new EventInputError(`${field} ${value.slice(0, 80)} is not an ARN`);
  if (arn.region !== '' && arn.region !== where.region)
    throw new EventInputError(`${field} ${value} is in ${arn.region}, not ${where.region}`);
  if (arn.account !== '' && arn.account !== where.account)
    throw new EventInputError(`${field} ${value} belongs to ${arn.account}, not ${where.account}`);
}

function checkRegion(field: string, region: string): void {
  if (!awsRegions.has(region)) throw new EventInputError(`${field} "${region}" is not an AWS region`);
}

/**
 * Rejects an AWS Backup event AWS could not have sent: an unknown region, a recovery point ARN that does not
 * fit the resource type or belongs to another region or account, an ARN over 1600 characters.
 */
export function validateEvent(event: EventBridgeEvent): void {
  checkRegion('region', event.region);
  if (event.source !== 'aws.backup') return;
  const detail = event.detail;
  const resourceType = text(detail.resourceType) ?? '';
  const where = { region: event.region, account: event.account };
  for (const [index, resource] of event.resources.entries()) {
    if (resource.length > MAX_ARN_LENGTH)
      throw new EventInputError(
        `resources[${index}] is ${resource.length} characters (AWS allows ${MAX_ARN_LENGTH})`,
      );
  }
  const type = event['detail-type'];
  if (type === 'Backup Job State Change' || type === 'Copy Job State Change') {
    const point =
      type === 'Copy Job State Change'
        ? (text(detail.sourceRecoveryPointArn) ?? event.resources[0])
        : event.resources[0];
    if (point !== undefined && resourceType) checkRecoveryPoint('recovery point', point, resourceType, where);
    checkArn('detail.resourceArn', text(detail.resourceArn), where);
    checkArn('detail.backupVaultArn', text(detail.backupVaultArn), where);
    checkArn('detail.sourceBackupVaultArn', text(detail.sourceBackupVaultArn), where);
  }
  if (type === 'Copy Job State Change') {
    const vault = text(detail.destinationBackupVaultArn);
    const vaultArn = vault === undefined ? undefined : parseArn(vault);
    if (vault !== undefined && (!vaultArn || !/^backup-vault:[A-Za-z0-9_.-]{2,50}$/.test(vaultArn.resource)))
      throw new EventInputError(
        `detail.destinationBackupVaultArn ${vault.slice(0, 80)} is not a backup vault ARN`,
      );
    if (vaultArn) checkRegion('detail.destinationBackupVaultArn region', vaultArn.region);
    const destination = text(detail.destinationRecoveryPointArn);
    if (destination !== undefined && vaultArn && resourceType) {
      checkRecoveryPoint('detail.destinationRecoveryPointArn', destination, resourceType, {
        region: vaultArn.region,
        account: vaultArn.account,
      });
    }
  }
}

/**
 * Events delivered in order, each at its `time`: each must be a valid time, none earlier than the one
 * before it. Returns the times (ms).
 */
export function eventTimes(events: readonly EventBridgeEvent[]): number[] {
  const times: number[] = [];
  for (const [index, event] of events.entries()) {
    const at = Date.parse(event.time);
    if (Number.isNaN(at)) throw new EventInputError(`event ${index + 1}: time "${event.time}" is not a date`);
    const previous = times.at(-1);
    if (previous !== undefined && at < previous) {
      throw new EventInputError(
        `event ${index + 1} (${event.time}) is earlier than event ${index} (${new Date(previous).toISOString()}): events are delivered in order`,
      );
    }
    times.push(at);
  }
  return times;
}
