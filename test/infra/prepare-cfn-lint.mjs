// cfn-lint (npm) bundles a 2019 resource specification. Replace it with the current one from
// @aws-cdk/cfnspec so today's resource types and properties validate. npm here skips install scripts,
// so this runs as an explicit step: `npm run prepare:cfn-lint` (also run by `npm run test:infra`).
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const cfnLintData = join(
  dirname(require.resolve('cfn-lint/package.json')),
  'data',
  'aws_resources_specification.json',
);
const currentSpec = join(
  dirname(require.resolve('@aws-cdk/cfnspec/package.json')),
  'spec',
  'specification.json',
);

const installed = JSON.parse(readFileSync(cfnLintData, 'utf8')).ResourceSpecificationVersion;
const current = JSON.parse(readFileSync(currentSpec, 'utf8')).ResourceSpecificationVersion;
if (installed !== current) copyFileSync(currentSpec, cfnLintData);
console.log(
  `cfn-lint resource specification: ${current}${installed === current ? ' (already in place)' : ` (was ${installed})`}`,
);
