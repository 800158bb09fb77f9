/**
 * Who is calling: the sandbox hands out credentials (the Lambda role's, and those returned by AssumeRole) and
 * maps every access key back to its account and role, exactly as AWS signs a request with them. Process-wide,
 * because SDK clients (and the credentials they cache) live as long as the handler modules.
 */
export interface Principal {
  account: string;
  roleArn: string;
  expiresAt: number;
}

const principals = new Map<string, Principal>();

export function registerPrincipal(accessKeyId: string, principal: Principal): void {
  principals.set(accessKeyId, principal);
}

export function principalFor(accessKeyId: string): Principal | undefined {
  return principals.get(accessKeyId);
}
