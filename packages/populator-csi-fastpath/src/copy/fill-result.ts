/** What a fill did, for the operation's `data_movement` and message. */
export interface FillResult {
  /** `clone` when every byte was reflinked, `none` when the volume already held the content. */
  readonly movement: "clone" | "copy" | "none";
  readonly bytes: number;
  /** Directory entries created (Filesystem); 0 for Block. */
  readonly entries: number;
}
