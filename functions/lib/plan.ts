import {
  BackupClient,
  paginateListProtectedResources,
  paginateListRecoveryPointsByResource,
} from '@aws-sdk/client-backup';
import {
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { isSupported } from '../resources/index.js';
import { readClaim } from './claims.js';
import { type AccountClients, sourceClients } from './clients.js';
import { config, isStandby, reconciledRegions } from './config.js';
import type { DrillRequest, PolicyRef } from './drill.js';
import { chooseRecoveryPoint, type DrillPolicies, policyRef, selects } from './policies.js';

/**
 * One plan run (functions/plan.ts): in every source account and region, the resources AWS Backup protects
 * (ListProtectedResources) that carry a policy's tags (Tagging API GetResources), each one's recovery points
 * (ListRecoveryPointsByResource), and for each resource due for a drill the recovery point the policy's rule
 * chooses. A resource drilled within the policy's `every` — by an AWS Backup event, the reconciler, an
 * operator or an earlier plan: every drill claims its recovery point in the state table — is skipped.
 */

export interface PlannedDrill {
  policy: PolicyRef;
  account: string;
  region: string;
  resourceType: string;
  resourceArn: string;
  recoveryPointArn: string;
  recoveryPointCreatedAt: string;
  backupVaultName: string;
  /** How the recovery point was chosen (`latest`, or `random of N in 7 days`). */
  choice: string;
}

export interface PlanSkip {
  policy: string;
  account: string;
  region: string;
  resourceArn: string;
  reason: string;
}

export interface Plan {
  at: string;
  /** SHA-256 of policies.yml as the plan read it. */
  policiesSha256: string;
  /** Resources that matched a policy's tags in the source accounts. */
  matched: number;
  planned: PlannedDrill[];
  skipped: PlanSkip[];
}

interface Point {
  arn: string;
  createdAt: number;
  vault: string;
}

const ago = (ms: number) =>
  ms >= 86_400_000 ? `${Math.round(ms / 3_600_000)} h` : `${Math.round(ms / 60_000)} min`;

async function protectedResources(clients: AccountClients): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  for await (const page of paginateListProtectedResources({ client: clients.client(BackupClient) }, {})) {
    for (const resource of page.Results ?? [])
      if (resource.ResourceArn && resource.ResourceType)
        types.set(resource.ResourceArn, resource.ResourceType);
  }
  return types;
}

async function taggedResources(
  clients: AccountClients,
  tags: Record<string, string>,
): Promise<{ arn: string; tags: Record<string, string> }[]> {
  const found: { arn: string; tags: Record<string, string> }[] = [];
  const pages = paginateGetResources(
    { client: clients.client(ResourceGroupsTaggingAPIClient) },
    { TagFilters: Object.entries(tags).map(([Key, value]) => ({ Key, Values: [value] })) },
  );
  for await (const page of pages) {
    for (const mapping of page.ResourceTagMappingList ?? []) {
      if (!mapping.ResourceARN) continue;
      const resourceTags = Object.fromEntries(
        (mapping.Tags ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? '']] : [])),
      );
      found.push({ arn: mapping.ResourceARN, tags: resourceTags });
    }
  }
  return found;
}

async function recoveryPoints(clients: AccountClients, resourceArn: string): Promise<Point[]> {
  const points: Point[] = [];
  const pages = paginateListRecoveryPointsByResource(
    { client: clients.client(BackupClient) },
    { ResourceArn: resourceArn },
  );
  for await (const page of pages) {
    for (const point of page.RecoveryPoints ?? []) {
      if (point.Status !== 'COMPLETED' || !point.RecoveryPointArn || !point.CreationDate) continue;
      points.push({
        arn: point.RecoveryPointArn,
        createdAt: point.CreationDate.getTime(),
        vault: point.BackupVaultName ?? 'Default',
      });
    }
  }
  return points;
}

interface Claimed {
  point: Point;
  /** The latest drill or failover claim of the point, if any; `drilled`: a drill (not a failover) claimed it. */
  latest?: { drillId: string; at: number };
  drilled: boolean;
}

/** Each recovery point's claims in the state table (one read per point and mode). */
async function claimsOf(points: readonly Point[]): Promise<Claimed[]> {
  const claimed: Claimed[] = [];
  for (const point of points) {
    const entry: Claimed = { point, drilled: false };
    for (const mode of ['drill', 'failover'] as const) {
      const claim = await readClaim(point.arn, mode);
      if (!claim) continue;
      if (mode === 'drill') entry.drilled = true;
      const at = Date.parse(claim.claimedAt);
      if (!entry.latest || at > entry.latest.at) entry.latest = { drillId: claim.drillId, at };
    }
    claimed.push(entry);
  }
  return claimed;
}

export async function buildPlan(document: { policies: DrillPolicies; sha256: string }): Promise<Plan> {
  const now = Date.now();
  const plan: Plan = {
    at: new Date(now).toISOString(),
    policiesSha256: document.sha256,
    matched: 0,
    planned: [],
    skipped: [],
  };
  // A standby deployment leaves scheduled drills to the primary until the primary is declared down.
  if (isStandby && !config.PRIMARY_DECLARED_DOWN) return plan;
  const { policies } = document;
  const claimedBy = new Map<string, string>();
  for (const policy of policies.policies) {
    const ref = policyRef(policies, policy);
    let count = 0;
    for (const account of config.SOURCE_ACCOUNTS) {
      for (const region of reconciledRegions) {
        const clients = sourceClients(account, region);
        const tagged = await taggedResources(clients, policy.select.tags);
        if (tagged.length === 0) continue;
        const protectedTypes = await protectedResources(clients);
        for (const resource of tagged) {
          const skip = (reason: string) =>
            plan.skipped.push({ policy: policy.name, account, region, resourceArn: resource.arn, reason });
          const resourceType = protectedTypes.get(resource.arn);
          if (!resourceType) {
            skip('not protected by AWS Backup in this account and region: no recovery point to drill');
            continue;
          }
          if (!isSupported(resourceType) || !selects(policy, resource.tags, resourceType)) continue;
          plan.matched += 1;
          const earlier = claimedBy.get(resource.arn);
          if (earlier) {
            skip(`already planned by policy ${earlier}`);
            continue;
          }
          claimedBy.set(resource.arn, policy.name);
          const claimed = await claimsOf(await recoveryPoints(clients, resource.arn));
          const recent = claimed
            .flatMap((c) => (c.latest && c.latest.at > now - policy.every ? [c.latest] : []))
            .sort((a, b) => b.at - a.at)[0];
          if (recent) {
            skip(
              `drilled ${ago(now - recent.at)} ago by ${recent.drillId} (every ${policy.every / 3_600_000} h)`,
            );
            continue;
          }
          // A recovery point drilled before is proven; the rule chooses among the others.
          const undrilled = claimed.filter((c) => !c.drilled).map((c) => c.point);
          const chosen = chooseRecoveryPoint(policy.recoveryPoint, undrilled, {
            now,
            policy: policy.name,
            resource: resource.arn,
          });
          if (!chosen) {
            skip(
              policy.recoveryPoint.rule === 'latest'
                ? 'no completed recovery point that has not been drilled'
                : `no completed recovery point of the last ${policy.recoveryPoint.windowDays} days that has not been drilled`,
            );
            continue;
          }
          if (count >= policy.maxDrillsPerRun) {
            skip(`maxDrillsPerRun ${policy.maxDrillsPerRun} reached: planned again next run`);
            continue;
          }
          count += 1;
          const rule = policy.recoveryPoint;
          const inWindow =
            rule.rule === 'random'
              ? undrilled.filter((p) => p.createdAt >= now - rule.windowDays * 86_400_000).length
              : 0;
          plan.planned.push({
            policy: ref,
            account,
            region,
            resourceType,
            resourceArn: resource.arn,
            recoveryPointArn: chosen.arn,
            recoveryPointCreatedAt: new Date(chosen.createdAt).toISOString(),
            backupVaultName: chosen.vault,
            choice: rule.rule === 'latest' ? 'latest' : `random: 1 of ${inWindow} in ${rule.windowDays} d`,
          });
        }
      }
    }
  }
  return plan;
}

/** The StartExecution input of a planned drill: the manual shape, triggered by the schedule, with its tier. */
export function plannedRequest(drill: PlannedDrill, at: string): DrillRequest {
  return {
    mode: 'drill',
    trigger: { kind: 'schedule', eventId: `policy:${drill.policy.name}`, at },
    source: {
      account: drill.account,
      region: drill.region,
      resourceType: drill.resourceType,
      resourceArn: drill.resourceArn,
      recoveryPointArn: drill.recoveryPointArn,
      backupVaultName: drill.backupVaultName,
    },
    policy: drill.policy,
  };
}
