import { describe, expect, it } from 'vitest';
import {
  expandPerResourceType,
  logicalIdPart,
  PerResourceTypeError,
} from '../../serverless/per-resource-type.js';

const alarm = {
  Type: 'AWS::CloudWatch::Alarm',
  Properties: {
    AlarmName: 'pilotlight-prod-drill-failed-{type}',
    AlarmDescription: 'A {TYPE} drill failed.',
    Dimensions: [{ Name: 'ResourceType', Value: '{TYPE}' }],
  },
};

describe('expandPerResourceType', () => {
  it('adds one copy per type with the type substituted in ids, names and dimensions, and lists them on the dashboard', () => {
    // Prepare
    const resources: Parameters<typeof expandPerResourceType>[1] = {
      Board: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a template literal
          DashboardBody: { 'Fn::Sub': '{"alarms": ["PER_RESOURCE_TYPE_ALARM_ARNS", "${Other.Arn}"]}' },
        },
      },
    };

    // Act
    const added = expandPerResourceType({ Resources: { 'DrillFailed{Type}Alarm': alarm } }, resources, [
      'RDS',
      'DocumentDB',
    ]);

    // Assess
    expect(added).toEqual(['DrillFailedRdsAlarm', 'DrillFailedDocumentDBAlarm']);
    expect(resources.DrillFailedDocumentDBAlarm).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: 'pilotlight-prod-drill-failed-documentdb',
        AlarmDescription: 'A DocumentDB drill failed.',
        Dimensions: [{ Name: 'ResourceType', Value: 'DocumentDB' }],
      },
    });
    const board = resources.Board as { Properties: { DashboardBody: { 'Fn::Sub': string } } };
    expect(JSON.parse(board.Properties.DashboardBody['Fn::Sub'])).toEqual({
      alarms: ['DrillFailedRdsAlarm', 'DrillFailedDocumentDBAlarm', 'Other'].map((id) => `\${${id}.Arn}`),
    });
  });

  it('refuses a per-type resource whose id does not vary with the type, and an id defined twice', () => {
    expect(() => expandPerResourceType({ Resources: { Fixed: alarm } }, {}, ['RDS'])).toThrow(
      PerResourceTypeError,
    );
    expect(() =>
      expandPerResourceType({ Resources: { 'X{Type}': alarm } }, { XRds: alarm }, ['RDS']),
    ).toThrow(/XRds is defined twice/);
  });

  it('names logical ids as the rest of the template does', () => {
    expect(['RDS', 'EBS', 'EC2', 'DynamoDB', 'FSx'].map(logicalIdPart)).toEqual([
      'Rds',
      'Ebs',
      'Ec2',
      'DynamoDB',
      'FSx',
    ]);
    expect(() => logicalIdPart('A B')).toThrow(PerResourceTypeError);
  });
});
