// MI's coordination schema for PostgreSQL, applied by the coordination database provider as the tenant's own
// role (so the role owns the tables MI writes). MI never creates these tables itself: its RDBMS
// coordination (components/org.wso2.micro.integrator.coordination, QueryManager.java) only reads and writes
// them, and WSO2 ships the DDL for operators to run.
//
// Source: wso2/micro-integrator `distribution/src/dbscripts/postgres/postgresql_cluster.sql` (blob
// 7719c00bec6bfdb6c7a5a3f267aab4fabae73354, unchanged since 2020-06-02, commit ae950baa5; the same file is
// `<MI_HOME>/dbscripts/postgres/postgresql_cluster.sql` of the MI 4.x distributions, 4.4.0 included). Five
// tables, reproduced as published; the version below changes when the statements do, and an update re-applies
// them (every statement is CREATE TABLE IF NOT EXISTS).

/** Bump when {@link MI_COORDINATION_SCHEMA} changes: existing databases get the new statements on the next up. */
export const MI_COORDINATION_SCHEMA_VERSION = "mi-4.x-postgresql_cluster.sql@7719c00b";

/** The statements of MI's `postgresql_cluster.sql`, one per table. */
export const MI_COORDINATION_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS LEADER_STATUS_TABLE (
  GROUP_ID VARCHAR (512) NOT NULL,
  NODE_ID VARCHAR (512) NOT NULL,
  LAST_HEARTBEAT BIGINT NOT NULL,
  PRIMARY KEY (GROUP_ID)
)`,
  `CREATE TABLE IF NOT EXISTS CLUSTER_NODE_STATUS_TABLE (
  GROUP_ID VARCHAR (512) NOT NULL,
  NODE_ID VARCHAR (512) NOT NULL,
  IS_NEW_NODE INT NOT NULL,
  LAST_HEARTBEAT BIGINT NOT NULL,
  PRIMARY KEY (GROUP_ID, NODE_ID)
)`,
  `CREATE TABLE IF NOT EXISTS MEMBERSHIP_EVENT_TABLE (
  GROUP_ID VARCHAR (512) NOT NULL,
  NODE_ID VARCHAR (512) NOT NULL,
  CHANGE_TYPE INT NOT NULL,
  CHANGED_MEMBER_ID VARCHAR (512) NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS REMOVED_MEMBERS_TABLE (
  GROUP_ID VARCHAR (512) NOT NULL,
  NODE_ID VARCHAR (512) NOT NULL,
  REMOVED_MEMBER_ID VARCHAR (512) NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS COORDINATED_TASK_TABLE (
  TASK_NAME VARCHAR (512) NOT NULL,
  DESTINED_NODE_ID VARCHAR (512),
  TASK_STATE VARCHAR (32),
  PRIMARY KEY (TASK_NAME)
)`,
];

/** The tables MI's coordination reads and writes (lower case, as PostgreSQL folds unquoted names). */
export const MI_COORDINATION_TABLES: readonly string[] = [
  "leader_status_table",
  "cluster_node_status_table",
  "membership_event_table",
  "removed_members_table",
  "coordinated_task_table",
];
