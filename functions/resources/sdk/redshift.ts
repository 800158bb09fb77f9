// The redshift SDK values the redshift resource modules use, imported dynamically by them (bundle: a lazy chunk).
export {
  CreateTagsCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  DescribeTagsCommand,
  RedshiftClient,
} from '@aws-sdk/client-redshift';
