import type { SessionRecord } from '@latchkey/core';
import type { Insertable, Selectable } from 'kysely';

/** A login: one row shared by its JWT (claim `sid`) and its cookie (found by digest); stored as the core's record. */
export type SessionTable = SessionRecord;

export type SessionRow = Selectable<SessionTable>;
export type NewSessionRow = Insertable<SessionTable>;
