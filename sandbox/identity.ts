import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who is calling: the sandbox hands out credentials (each Lambda function's role, and those returned by
 * AssumeRole) and maps every access key back to its account and role, exactly as AWS signs a request with
 * them. Process-wide, because SDK clients (and the credentials they cache) live as long as the handler modules.
 *
 * In AWS each function runs in its own container with its own role's credentials in its environment. Here all
 * handlers share one process, one environment and module-level clients, so the environment holds one "Lambda
 * runtime" key and the function actually calling is taken, per SDK call, from the invocation context that
 * lambda-runtime.ts sets around each handler (AsyncLocalStorage): that function's own key and role.
 */
export interface Principal {
  account: string;
  /** The role (arn:aws:iam::ACCOUNT:role/NAME): what aws:PrincipalArn is for a role session. */
  roleArn: string;
  /** What AWS names the caller in errors and GetCallerIdentity (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). */
  sessionArn: string;
  expiresAt: number;
  /**
   * The Lambda function whose execution environment holds these credentials: AWS puts its ARN in the request
   * context as `lambda:SourceFunctionArn` (Lambda Developer Guide, "Using source function ARN").
   */
  sourceFunctionArn?: string;
  /** The function whose role this is (the function's own key). */
  functionKey?: string;
  /** The shared key in the process environment: the calling function decides the role. */
  lambdaRuntime?: boolean;
  /** An AssumeRole session: the function that assumed it, and the ExternalId it presented. */
  assumedBy?: string;
  externalId?: string;
}

const principals = new Map<string, Principal>();
const functionKeys = new Map<string, string>();

/** The function whose handler is running (set by the Lambda runtime around each invocation). */
export const invocationContext = new AsyncLocalStorage<{ functionKey: string }>();

export function currentFunction(): string | undefined {
  return invocationContext.getStore()?.functionKey;
}

export function registerPrincipal(accessKeyId: string, principal: Principal): void {
  principals.set(accessKeyId, principal);
  if (principal.functionKey && !principal.lambdaRuntime) functionKeys.set(principal.functionKey, accessKeyId);
}

/**
 * The principal a request signed with this key is made by. The Lambda runtime's shared key resolves to the
 * calling function's own principal; outside any invocation (the sandbox provisioning its stack) to itself.
 */
export function principalFor(accessKeyId: string): Principal | undefined {
  const principal = principals.get(accessKeyId);
  if (!principal?.lambdaRuntime) return principal;
  const fn = currentFunction();
  if (!fn) return principal;
  const own = principals.get(functionKeys.get(fn) ?? '');
  if (!own) throw new Error(`the sandbox registered no credentials for function ${fn}`);
  return own;
}

/** The session name Lambda gives a function's role session: the function's name. */
export function sessionArnOf(roleArn: string, sessionName: string): string {
  const match = roleArn.match(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/);
  if (!match) throw new Error(`not a role ARN: ${roleArn}`);
  return `arn:aws:sts::${match[1]}:assumed-role/${match[2]}/${sessionName}`;
}
