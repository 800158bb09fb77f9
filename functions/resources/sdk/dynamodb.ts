// The dynamodb SDK values the dynamodb resource modules use, imported dynamically by them (bundle: a lazy chunk).
export {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  ResourceNotFoundException,
  ScanCommand,
  TagResourceCommand,
} from '@aws-sdk/client-dynamodb';
