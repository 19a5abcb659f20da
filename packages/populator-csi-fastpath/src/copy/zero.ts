let zeros = Buffer.alloc(0);

/** Whether the first `length` bytes of `buffer` are all zero (a hole worth not writing). */
export function isAllZero(buffer: Buffer, length: number): boolean {
  if (zeros.length < length) zeros = Buffer.alloc(length);
  return buffer.subarray(0, length).equals(zeros.subarray(0, length));
}
