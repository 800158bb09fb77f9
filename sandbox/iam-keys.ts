/**
 * Small pieces of request context shared by the IAM request mappers (iam-requests.ts) and the service modules
 * that declare their own (sandbox/aws, sandbox/resources). A leaf module, so those can import it freely.
 */
export const tagsOf = (value: unknown): { Key?: string; Value?: string }[] =>
  Array.isArray(value) ? (value as { Key?: string; Value?: string }[]) : [];

/** aws:TagKeys and aws:RequestTag/* of a request that sets tags. */
export function tagContext(tags: { Key?: string; Value?: string }[]): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = { 'aws:TagKeys': tags.map((t) => t.Key ?? '') };
  for (const tag of tags) context[`aws:RequestTag/${tag.Key ?? ''}`] = tag.Value ?? '';
  return context;
}

/** The account in an ARN (empty for ARNs without one, such as EBS snapshots): the one ARN helper's. */
export { accountOf } from '../functions/lib/arn.js';
