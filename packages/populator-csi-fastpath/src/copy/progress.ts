/** How far a copy is; `bytesTotal` is undefined until the golden content has been measured. */
export interface CopyProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number | undefined;
}

/** Called after every file or chunk: keep it cheap (callers throttle what they forward). */
export type ProgressListener = (progress: CopyProgress) => void;
