import { resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * Checks validations.yml (custom.validationProfiles) with the same zod schema the functions use, before
 * anything is packaged: a typo in a profile fails `serverless package` and `serverless deploy` with one
 * line naming the file, the place and the problem, instead of failing a drill weeks later.
 */
class ValidationProfilesPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    serverless.configSchemaHandler.defineCustomProperties({
      type: 'object',
      properties: { validationProfiles: { type: 'string' } },
    });
    this.hooks = { 'before:package:initialize': () => this.validate() };
  }

  async validate() {
    const file = this.serverless.service.custom?.validationProfiles ?? 'validations.yml';
    const path = resolve(this.serverless.serviceDir, file);
    // The schema is TypeScript (functions/lib/validations.ts, read by validation-profiles-file.ts); tsx is already a dependency of the project.
    const { loadValidationProfiles } = await tsImport(
      '../functions/lib/validation-profiles-file.ts',
      import.meta.url,
    );
    let loaded;
    try {
      loaded = loadValidationProfiles(path);
    } catch (error) {
      throw new this.serverless.classes.Error(error instanceof Error ? error.message : String(error));
    }
    const count = Object.keys(loaded.profiles.profiles).length;
    this.log.notice(`validation profiles: ${count} in ${file} (sha256 ${loaded.sha256.slice(0, 12)})`);
  }
}

export default ValidationProfilesPlugin;
