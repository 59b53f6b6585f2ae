// Statements Shoal's SQL does not have, refused with 0A000 and a message
// that names the statement and, where it helps, says why or what to use
// instead. docs/architecture.md ("What Shoal's SQL does not support") lists
// them.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from './errors.js';

const NOTIFICATIONS = 'Shoal SQL pods are stateless and do not deliver notifications';
const ROLES = "a tenant's roles are not managed through SQL (its admin role comes from the operator)";
const PRIVILEGES = "Shoal has no privileges: every role of a tenant may do everything in the tenant's databases";
const SERIALIZABLE = 'every transaction is SERIALIZABLE; use pg_advisory_lock() to serialize work across sessions';

/** Statement (node key) → what to call it and why it is missing. */
const REFUSALS: Readonly<Record<string, readonly [name: string, reason?: string]>> = {
  ListenStmt: ['LISTEN', NOTIFICATIONS],
  UnlistenStmt: ['UNLISTEN', NOTIFICATIONS],
  NotifyStmt: ['NOTIFY', NOTIFICATIONS],
  CreateRoleStmt: ['CREATE ROLE', ROLES],
  AlterRoleStmt: ['ALTER ROLE', ROLES],
  DropRoleStmt: ['DROP ROLE', ROLES],
  AlterDefaultPrivilegesStmt: ['ALTER DEFAULT PRIVILEGES', PRIVILEGES],
  CreatePolicyStmt: ['CREATE POLICY (row-level security)', PRIVILEGES],
  AlterOwnerStmt: ['ALTER … OWNER TO', 'Shoal has no object ownership'],
  CreateFunctionStmt: ['CREATE FUNCTION', 'user-defined functions and procedures are not supported'],
  AlterFunctionStmt: ['ALTER FUNCTION', 'user-defined functions and procedures are not supported'],
  DoStmt: ['DO', 'procedural code is not supported'],
  CallStmt: ['CALL', 'user-defined procedures are not supported'],
  CreatePLangStmt: ['CREATE LANGUAGE', 'procedural code is not supported'],
  CreateTrigStmt: ['CREATE TRIGGER', 'triggers are not supported'],
  CreateEventTrigStmt: ['CREATE EVENT TRIGGER', 'triggers are not supported'],
  RuleStmt: ['CREATE RULE', 'rules are not supported'],
  CreateExtensionStmt: ['CREATE EXTENSION', 'extensions cannot be installed into Shoal'],
  CreateDomainStmt: ['CREATE DOMAIN', 'user-defined types are not supported'],
  CompositeTypeStmt: ['CREATE TYPE', 'user-defined types are not supported'],
  CreateRangeStmt: ['CREATE TYPE … AS RANGE', 'user-defined types are not supported'],
  DefineStmt: ['CREATE AGGREGATE, OPERATOR or TYPE', 'user-defined types, operators and aggregates are not supported'],
  LockStmt: ['LOCK TABLE', SERIALIZABLE],
  CommentStmt: ['COMMENT ON', 'comments are not stored'],
  RefreshMatViewStmt: ['REFRESH MATERIALIZED VIEW', 'materialized views are not supported'],
  CreatePublicationStmt: ['CREATE PUBLICATION', 'logical replication is not supported'],
  CreateSubscriptionStmt: ['CREATE SUBSCRIPTION', 'logical replication is not supported'],
  CreateForeignTableStmt: ['CREATE FOREIGN TABLE', 'foreign data wrappers are not supported'],
  CreateTableSpaceStmt: ['CREATE TABLESPACE', 'storage is managed by Shoal'],
  AlterSystemStmt: ['ALTER SYSTEM', 'server settings are managed by the operator'],
  AlterDatabaseStmt: ['ALTER DATABASE'],
  ClusterStmt: ['CLUSTER', 'rows are always stored in primary key order'],
  ReindexStmt: ['REINDEX', 'indexes are maintained by the storage layer and never need rebuilding'],
  CheckPointStmt: ['CHECKPOINT', 'storage durability is managed by kvpod'],
  LoadStmt: ['LOAD', 'shared libraries cannot be loaded into Shoal'],
};

/** The 0A000 error for a statement Shoal does not execute; `kind` is its command tag verb, used when nothing better is known. */
export function unsupportedStatement(node: Node, kind: string): SqlError {
  const key = Object.keys(node)[0] ?? '';
  if ('CreateFunctionStmt' in node && node.CreateFunctionStmt.is_procedure) return refusal('CREATE PROCEDURE', 'user-defined functions and procedures are not supported');
  if ('TransactionStmt' in node) return unsupportedTransactionStatement(node.TransactionStmt.kind);
  if ('GrantStmt' in node) return refusal(node.GrantStmt.is_grant ? 'GRANT' : 'REVOKE', PRIVILEGES);
  if ('GrantRoleStmt' in node) return refusal(node.GrantRoleStmt.is_grant ? 'GRANT of a role' : 'REVOKE of a role', PRIVILEGES);
  const known = REFUSALS[key];
  return known ? refusal(known[0], known[1]) : refusal(kind);
}

/** Two-phase commit. */
export function unsupportedTransactionStatement(kind: string | undefined): SqlError {
  switch (kind) {
    case 'TRANS_STMT_PREPARE':
      return refusal('PREPARE TRANSACTION', 'two-phase commit is not supported');
    case 'TRANS_STMT_COMMIT_PREPARED':
      return refusal('COMMIT PREPARED', 'two-phase commit is not supported');
    case 'TRANS_STMT_ROLLBACK_PREPARED':
      return refusal('ROLLBACK PREPARED', 'two-phase commit is not supported');
    default:
      return refusal(`transaction statement ${kind ?? ''}`.trim());
  }
}

function refusal(name: string, reason?: string): SqlError {
  return new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, reason ? `${name} is not supported: ${reason}` : `${name} is not supported`);
}
