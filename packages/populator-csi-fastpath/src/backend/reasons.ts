/** `ErrorDetail.reason` values this backend sends with RPC errors (UpperCamelCase, per the protocol). */
export const RpcReason = {
  MissingField: "MissingField",
  FieldTooLong: "FieldTooLong",
  TooManyEntries: "TooManyEntries",
  InvalidOperationId: "InvalidOperationId",
  InvalidCapacity: "InvalidCapacity",
  InvalidVolumeHandle: "InvalidVolumeHandle",
  InvalidSource: "InvalidSource",
  UnsupportedCsiDriver: "UnsupportedCsiDriver",
  UnsupportedSourceKind: "UnsupportedSourceKind",
  UnsupportedVolumeMode: "UnsupportedVolumeMode",
  VolumeNotFound: "VolumeNotFound",
  VolumeModeMismatch: "VolumeModeMismatch",
  OperationIdInUse: "OperationIdInUse",
  VolumeBusy: "VolumeBusy",
  OperationNotFound: "OperationNotFound",
  ShuttingDown: "ShuttingDown",
} as const;

export type RpcReason = (typeof RpcReason)[keyof typeof RpcReason];
