import { taggingTypeOf } from '../../functions/lib/arn.js';
import { SimulatedAwsError } from '../aws-errors.js';
import type { Caller, World } from '../world.js';

/** How long the Tagging API keeps listing a deleted resource in the sandbox. */
const TAG_INDEX_LAG_MS = 30 * 60_000;

/** The Resource Groups Tagging API over every resource the services track (world.resources), in any account. */
export class Tagging {
  /**
   * Production resources and their tags (the estate `pilotlight sweep` seeds): the source accounts' resources
   * are not simulated as services, only their backups; the Tagging API still lists them with their tags.
   */
  readonly sourceResources = new Map<
    string,
    { account: string; region: string; tags: Record<string, string> }
  >();

  constructor(private readonly world: World) {}

  tagSourceResource(arn: string, account: string, region: string, tags: Record<string, string>): void {
    this.sourceResources.set(arn, { account, region, tags: { ...tags } });
  }

  /**
   * Resource Groups Tagging API GetResources: the caller's account and region, every tag filter must match
   * (a filter without values only needs the key). Like the real index, it lags behind deletions: a resource
   * deleted less than TAG_INDEX_LAG_MS ago is still listed.
   */
  getResources(
    caller: Caller,
    input: {
      TagFilters?: { Key?: string; Values?: string[] }[];
      ResourceTypeFilters?: string[];
      ResourceARNList?: string[];
      ResourcesPerPage?: number;
      PaginationToken?: string;
    },
  ) {
    const arns = input.ResourceARNList;
    if (arns !== undefined) {
      // As the API: a list of 1-100 ARNs, alone (no tag or type filter, no page size).
      if (arns.length === 0 || arns.length > 100)
        throw new SimulatedAwsError('InvalidParameterException', 'ResourceARNList must hold 1 to 100 ARNs');
      if (input.TagFilters || input.ResourceTypeFilters || input.ResourcesPerPage)
        throw new SimulatedAwsError(
          'InvalidParameterException',
          'ResourceARNList cannot be combined with TagFilters, ResourceTypeFilters or ResourcesPerPage',
        );
    }
    const types = input.ResourceTypeFilters ?? [];
    for (const type of types) {
      if (!/^[a-z0-9-]+(:[a-zA-Z0-9-]+)?$/.test(type))
        throw new SimulatedAwsError('InvalidParameterException', `Unsupported resource type ${type}`);
    }
    const indexed = [
      ...this.world.resources.values(),
      ...[...this.sourceResources.entries()].map(([arn, r]) => ({ arn, ...r, deletedAt: undefined })),
    ];
    const matches = indexed.filter(
      (r) =>
        r.account === caller.account &&
        r.region === caller.region &&
        (arns === undefined || arns.includes(r.arn)) &&
        (r.deletedAt === undefined || this.world.clock.now - r.deletedAt < TAG_INDEX_LAG_MS) &&
        (types.length === 0 ||
          types.includes(taggingTypeOf(r.arn)) ||
          types.includes(taggingTypeOf(r.arn).split(':')[0] ?? '')) &&
        (input.TagFilters ?? []).every(
          (filter) =>
            filter.Key !== undefined &&
            filter.Key in r.tags &&
            ((filter.Values ?? []).length === 0 || (filter.Values ?? []).includes(r.tags[filter.Key] ?? '')),
        ),
    );
    const perPage = input.ResourcesPerPage ?? 50;
    const start = Number(input.PaginationToken || 0);
    const page = matches.slice(start, start + perPage);
    return {
      ResourceTagMappingList: page.map((r) => ({
        ResourceARN: r.arn,
        Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })),
      })),
      PaginationToken: start + perPage < matches.length ? String(start + perPage) : '',
    };
  }
}
