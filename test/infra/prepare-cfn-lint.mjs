// cfn-lint (npm) bundles a 2019 resource specification. Replace it with the current one from
// @aws-cdk/cfnspec so today's resource types and properties validate. npm here skips install scripts,
// so this runs as an explicit step: `npm run prepare:cfn-lint` (also run by `npm run test:infra`).
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
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

// Properties CloudFormation documents that this specification version predates (each with its page).
const LATER_PROPERTIES = {
  'AWS::KMS::Key': {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html
    BypassPolicyLockoutSafetyCheck: {
      Documentation:
        'http://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html#cfn-kms-key-bypasspolicylockoutsafetycheck',
      PrimitiveType: 'Boolean',
      Required: false,
      UpdateType: 'Mutable',
    },
  },
};
const spec = JSON.parse(readFileSync(cfnLintData, 'utf8'));
let added = 0;
for (const [type, properties] of Object.entries(LATER_PROPERTIES)) {
  for (const [name, definition] of Object.entries(properties)) {
    const known = spec.ResourceTypes[type]?.Properties;
    if (known && !known[name]) {
      known[name] = definition;
      added += 1;
    }
  }
}
if (added > 0) writeFileSync(cfnLintData, JSON.stringify(spec));
console.log(
  `cfn-lint resource specification: ${current}${installed === current ? ' (already in place)' : ` (was ${installed})`}`,
);
