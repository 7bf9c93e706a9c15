import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/** Tables whose rows the auth cache holds copies of. */
const CACHED_TABLES = new Set(['api_keys', 'users', 'sessions']);
/** Columns the usage buffer writes: a change to them alone leaves every cached answer right. */
const USAGE_COLUMNS = new Set(['last_used_at', 'last_used_ip']);

function name(node: OperationNode | undefined): string | undefined {
  if (!node) return undefined;
  const n = node as unknown as {
    kind: string;
    node?: OperationNode;
    table?: { identifier?: { name?: string } };
    column?: { name?: string };
  };
  if (n.kind === 'AliasNode') return name(n.node);
  if (n.kind === 'TableNode') return n.table?.identifier?.name;
  if (n.kind === 'ColumnNode') return n.column?.name;
  return undefined;
}

/** True when the statement updates or deletes rows the cache may hold. */
export function changesCachedRows(node: RootOperationNode): boolean {
  if (node.kind === 'DeleteQueryNode') {
    return node.from.froms.some((f) => CACHED_TABLES.has(name(f) ?? ''));
  }
  if (node.kind === 'UpdateQueryNode') {
    const table = name(node.table);
    if (!table || !CACHED_TABLES.has(table)) return false;
    const columns = (node.updates ?? []).map((u) => name(u.column) ?? '');
    return !(table === 'api_keys' && columns.length > 0 && columns.every((c) => USAGE_COLUMNS.has(c)));
  }
  return false;
}

/**
 * A Kysely plugin on the database handle the app exposes (`services.storage.db`): after an
 * UPDATE or DELETE of keys, users or sessions that ran through it, `onWrite` is called.
 * The services write through a handle without it and invalidate exactly what they change
 * after each commit; this catches the writes that bypass them (the CLI's `token revoke`,
 * a script using the library, a test's SQL), at the cost of forgetting every cached
 * credential. Inserts need nothing: failures are never cached.
 */
export class WriteWatcher implements KyselyPlugin {
  private readonly writes = new WeakSet<object>();

  constructor(private readonly onWrite: () => Promise<void>) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (changesCachedRows(args.node)) this.writes.add(args.queryId);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.writes.has(args.queryId)) {
      this.writes.delete(args.queryId);
      await this.onWrite();
    }
    return args.result;
  }
}
