// A pure decision about a change to one user: would it leave the server without any
// active superuser? Nobody could then govern it through the API (only the CLI, on the
// database's machine, could make a new one).

export interface SuperuserState {
  is_superuser: boolean;
  is_active: boolean;
}

/** What happens to the user: new flags, or deletion. */
export type SuperuserChange = { is_superuser?: boolean; is_active?: boolean } | 'delete';

const activeSuperuser = (u: SuperuserState) => Boolean(u.is_superuser) && Boolean(u.is_active);

/**
 * True when the user is an active superuser, the change makes them stop being one
 * (demotion, deactivation or deletion), and no other active superuser exists.
 */
export function removesLastSuperuser(
  user: SuperuserState,
  change: SuperuserChange,
  otherActiveSuperusers: number,
): boolean {
  if (!activeSuperuser(user) || otherActiveSuperusers > 0) return false;
  if (change === 'delete') return true;
  return !activeSuperuser({
    is_superuser: change.is_superuser ?? user.is_superuser,
    is_active: change.is_active ?? user.is_active,
  });
}
