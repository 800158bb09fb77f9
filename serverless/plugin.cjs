'use strict';
/**
 * Expands custom.perResourceType (serverless.yml) for every resource type in the registry
 * (functions/resources/index.ts) before the stack is packaged. The registry and the expander are TypeScript,
 * loaded with tsx (a dependency) so the list of types stays in one place.
 */
const { require: tsxRequire } = require('tsx/cjs/api');

class PerResourceTypePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // Every command (package, deploy, print) sees the expanded resources.
      initialize: () => this.expand(),
    };
  }

  expand() {
    const service = this.serverless.service;
    const { supportedResourceTypes } = tsxRequire('../functions/resources/index.ts', __filename);
    const { expandPerResourceType } = tsxRequire('./per-resource-type.ts', __filename);
    service.resources = service.resources || {};
    service.resources.Resources = service.resources.Resources || {};
    const added = expandPerResourceType(
      service.custom?.perResourceType,
      service.resources.Resources,
      supportedResourceTypes,
    );
    this.serverless.cli.log(
      `per resource type: ${added.length} resources for ${supportedResourceTypes.join(', ')}`,
    );
  }
}

module.exports = PerResourceTypePlugin;
