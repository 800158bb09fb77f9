// The fsx SDK values the fsx resource modules use, imported dynamically by them (bundle: a lazy chunk).
export {
  DeleteFileSystemCommand,
  DeleteStorageVirtualMachineCommand,
  DeleteVolumeCommand,
  DescribeFileSystemsCommand,
  DescribeStorageVirtualMachinesCommand,
  DescribeVolumesCommand,
  FileSystemNotFound,
  FSxClient,
  ListTagsForResourceCommand,
  StorageVirtualMachineNotFound,
  TagResourceCommand,
  VolumeNotFound,
} from '@aws-sdk/client-fsx';
