/**
 * Per resource type resources (alarms) declared once in serverless.yml under `custom.perResourceType.Resources`
 * and expanded for every type in the registry (functions/resources/index.ts). Used by the packaging plugin
 * (serverless/plugin.cjs) and by the sandbox, which reads serverless.yml itself (sandbox/serverless-config.ts).
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The token in the dashboard's alarm widget that stands for every per-type alarm's ARN. */
export const ALARM_ARNS_TOKEN = '"PER_RESOURCE_TYPE_ALARM_ARNS"';

export class PerResourceTypeError extends Error {
  override readonly name = 'PerResourceTypeError';
}

function isRecord(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `DocumentDB` → `DocumentDB`, `RDS` → `Rds`, `EBS` → `Ebs`: a logical-id part in the style of the others. */
export function logicalIdPart(type: string): string {
  if (!/^[A-Za-z0-9]+$/.test(type))
    throw new PerResourceTypeError(`resource type "${type}" cannot name a resource`);
  return type === type.toUpperCase() ? `${type[0]}${type.slice(1).toLowerCase()}` : type;
}

function substitute(node: Json, type: string): Json {
  if (typeof node === 'string')
    return node
      .replaceAll('{TYPE}', type)
      .replaceAll('{Type}', logicalIdPart(type))
      .replaceAll('{type}', type.toLowerCase());
  if (Array.isArray(node)) return node.map((item) => substitute(item, type));
  if (isRecord(node))
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [substitute(key, type) as string, substitute(value, type)]),
    );
  return node;
}

/**
 * Adds, to `resources`, every per-type resource for every type, and puts the per-type alarms' ARNs where the
 * dashboard asks for them. Returns the logical ids it added. A per-type id that already exists is an error.
 */
export function expandPerResourceType(
  template: unknown,
  resources: Record<string, Json>,
  types: readonly string[],
): string[] {
  if (!isRecord(template) || !isRecord(template.Resources))
    throw new PerResourceTypeError('custom.perResourceType.Resources must be a map of resources');
  const added: string[] = [];
  for (const type of types) {
    for (const [id, resource] of Object.entries(template.Resources)) {
      const expandedId = substitute(id, type);
      if (typeof expandedId !== 'string' || expandedId === id)
        throw new PerResourceTypeError(`custom.perResourceType: resource id ${id} must contain {Type}`);
      if (expandedId in resources) throw new PerResourceTypeError(`${expandedId} is defined twice`);
      resources[expandedId] = substitute(resource, type);
      added.push(expandedId);
    }
  }
  const alarmArns = added
    .filter((id) => isRecord(resources[id]) && resources[id].Type === 'AWS::CloudWatch::Alarm')
    .map((id) => `"\${${id}.Arn}"`)
    .join(', ');
  for (const resource of Object.values(resources)) {
    if (
      !isRecord(resource) ||
      resource.Type !== 'AWS::CloudWatch::Dashboard' ||
      !isRecord(resource.Properties)
    )
      continue;
    const body = resource.Properties.DashboardBody;
    if (isRecord(body) && typeof body['Fn::Sub'] === 'string')
      body['Fn::Sub'] = body['Fn::Sub'].replace(ALARM_ARNS_TOKEN, alarmArns);
  }
  return added;
}
