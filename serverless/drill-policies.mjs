import { resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * Checks policies.yml (custom.drillPolicies) with the same zod schema the plan function uses, before anything
 * is packaged: a typo in a policy fails `serverless package` and `serverless deploy` with one line naming the
 * file, the place and the problem, instead of a plan run that drills nothing.
 */
class DrillPoliciesPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    serverless.configSchemaHandler.defineCustomProperties({
      type: 'object',
      properties: { drillPolicies: { type: 'string' } },
    });
    this.hooks = { 'before:package:initialize': () => this.validate() };
  }

  async validate() {
    const file = this.serverless.service.custom?.drillPolicies ?? 'policies.yml';
    const path = resolve(this.serverless.serviceDir, file);
    const { loadDrillPolicies } = await tsImport('../functions/lib/policies.ts', import.meta.url);
    let loaded;
    try {
      loaded = loadDrillPolicies(path);
    } catch (error) {
      throw new this.serverless.classes.Error(error instanceof Error ? error.message : String(error));
    }
    const count = loaded.policies.policies.length;
    this.log.notice(`drill policies: ${count} in ${file} (sha256 ${loaded.sha256.slice(0, 12)})`);
  }
}

export default DrillPoliciesPlugin;
