/**
 * Runs `once` for every round and contender, alternating who goes first from one round to the next,
 * so that a cluster warming up or a neighbour's noise favours nobody.
 */
export async function alternatingRounds<C, R>(
  rounds: number,
  contenders: readonly C[],
  once: (contender: C, round: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? contenders : [...contenders].reverse();
    for (const contender of order) results.push(await once(contender, round));
  }
  return results;
}
