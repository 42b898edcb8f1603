// Who may do what. One table, checked once per call at the API adapter.
import { AppError } from '../errors.js';
import type { Channel } from '../../contracts/channels.js';
import type { Claims, Role } from './tokens.js';

/**
 * reserve: ReserveStock · transition: confirm, fulfil, release · receive: ReceiveStock, ExpectStock ·
 * move: sales, adjustments, transfers, returns, quality checks · read: levels, reservations, catalog,
 * network · audit: ListMovements, GetStockAt · policy_read: GetTenantPolicy ·
 * manage: catalog, network and policy changes.
 */
export type Action = 'reserve' | 'transition' | 'receive' | 'move' | 'read' | 'audit' | 'policy_read' | 'manage';

export const ACTIONS: readonly Action[] = [
  'reserve',
  'transition',
  'receive',
  'move',
  'read',
  'audit',
  'policy_read',
  'manage',
];

export type Scope = { channel?: Channel | null; locations?: string[] };

type Rule = { actions: readonly Action[]; inScope: (claims: Claims, scope: Scope) => boolean; scopeNote: string };

/**
 * The permission table. A caller may act when any of its roles allows the
 * action within that role's scope.
 */
export const PERMISSIONS: Record<Role, Rule> = {
  admin: { actions: ACTIONS, inScope: () => true, scopeNote: 'every channel and location' },
  channel_service: {
    actions: ['reserve', 'transition', 'read'],
    inScope: (c, s) => s.channel == null || c.channels.includes(s.channel),
    scopeNote: 'only the channels in its token (no CHANNEL_B2B claim, no B2B holds)',
  },
  store_staff: {
    actions: ['reserve', 'transition', 'receive', 'move', 'read', 'audit'],
    inScope: (c, s) => (s.locations ?? []).every((l) => c.locations.includes(l)),
    scopeNote: 'only the locations in its token',
  },
  auditor: { actions: ['read', 'audit', 'policy_read'], inScope: () => true, scopeNote: 'read-only' },
};

export const authorize = (claims: Claims, action: Action, scope: Scope = {}): void => {
  const withAction = claims.roles.filter((r) => PERMISSIONS[r].actions.includes(action));
  if (withAction.length === 0) {
    throw new AppError('PERMISSION_DENIED', `roles [${claims.roles.join(', ')}] may not ${action}`, {
      reason: 'ROLE_NOT_ALLOWED',
    });
  }
  if (withAction.some((r) => PERMISSIONS[r].inScope(claims, scope))) return;
  const notes = withAction.map((r) => `${r}: ${PERMISSIONS[r].scopeNote}`).join('; ');
  throw new AppError('PERMISSION_DENIED', `outside this token's scope (${notes})`, { reason: 'OUT_OF_SCOPE' });
};
