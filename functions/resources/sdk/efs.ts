// The efs SDK values the efs resource modules use, imported dynamically by them (bundle: a lazy chunk).
export {
  DeleteFileSystemCommand,
  DeleteMountTargetCommand,
  DescribeFileSystemsCommand,
  DescribeMountTargetsCommand,
  EFSClient,
  FileSystemNotFound,
  ListTagsForResourceCommand,
  MountTargetNotFound,
  TagResourceCommand,
} from '@aws-sdk/client-efs';
