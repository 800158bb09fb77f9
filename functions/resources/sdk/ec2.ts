// The ec2 SDK values the ec2 resource modules use, imported dynamically by them (bundle: a lazy chunk).
export {
  CreateTagsCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
