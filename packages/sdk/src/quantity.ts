const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * Bytes in a Kubernetes resource quantity (`1Gi`, `500M`, `1.5e9`), rounded up as the API server
 * rounds capacities. Undefined for anything that is not a quantity.
 */
export function quantityToBytes(quantity: string | undefined): number | undefined {
  const match = /^([+]?[0-9]*\.?[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/.exec(
    quantity?.trim() ?? "",
  );
  if (!match?.[1]) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? "";
  const multiplier =
    match[3] !== undefined ? 10 ** Number(match[3]) : (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
  return Math.ceil(number * multiplier);
}
