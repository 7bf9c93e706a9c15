/**
 * Which operationIds of the contract have no handler, and which handlers answer no
 * operation of the contract. Both lists are empty when the mock covers the contract exactly.
 */
export function handlerCoverage(
  operationIds: readonly string[],
  handlers: Readonly<Record<string, unknown>>,
): { missing: string[]; extra: string[] } {
  const ids = new Set(operationIds);
  return {
    missing: operationIds.filter((id) => !(id in handlers)),
    extra: Object.keys(handlers).filter((id) => !ids.has(id)),
  };
}
