// Dynamic provider for project-level Harbor robot accounts: the CRUD logic behind `HarborRobotAccount`.
// Serialized by value by Pulumi: reference only this folder's plain modules and Node built-ins.
import type * as pulumi from "@pulumi/pulumi";
import { type HarborConnection, harborRequest, isHarborStatus } from "./client";
import { type CheckFailure, checkConnection, connectionOf, isUnknown } from "./connection";
import { compact, diffProperties } from "./diff";
import { HARBOR_NAME_PATTERN } from "./names";

/** Repository actions a project robot can be granted by their short names. */
export const ROBOT_ACTIONS = ["pull", "push"] as const;
/**
 * Other project-scope grants, as `resource:action`: Harbor's `rbac.PoliciesMap[ScopeProject]`
 * (src/common/rbac/const.go, v2.15.2), which `robotAPI.validate` checks a project robot against.
 */
export const PROJECT_ROBOT_GRANTS = [
  "log:list",
  "project:read",
  "project:update",
  "project:delete",
  "metadata:read",
  "metadata:create",
  "metadata:delete",
  "metadata:list",
  "metadata:update",
  "repository:read",
  "repository:update",
  "repository:delete",
  "repository:list",
  "artifact:read",
  "artifact:create",
  "artifact:list",
  "artifact:delete",
  "scan:create",
  "scan:read",
  "scan:stop",
  "sbom:create",
  "sbom:stop",
  "sbom:read",
  "tag:create",
  "tag:list",
  "tag:delete",
  "accessory:list",
  "artifact-addition:read",
  "artifact-label:create",
  "artifact-label:delete",
  "scanner:create",
  "scanner:read",
  "preheat-policy:read",
  "preheat-policy:create",
  "preheat-policy:delete",
  "preheat-policy:list",
  "preheat-policy:update",
  "immutable-tag:create",
  "immutable-tag:delete",
  "immutable-tag:list",
  "immutable-tag:update",
  "notification-policy:read",
  "notification-policy:create",
  "notification-policy:delete",
  "notification-policy:list",
  "notification-policy:update",
  "tag-retention:read",
  "tag-retention:create",
  "tag-retention:delete",
  "tag-retention:list",
  "tag-retention:update",
  "label:read",
  "label:create",
  "label:delete",
  "label:list",
  "label:update",
  "quota:read",
] as const;
/** A grant: `pull`/`push` on repositories, or any other project-scope `resource:action`. */
export type HarborRobotAction = (typeof ROBOT_ACTIONS)[number] | (typeof PROJECT_ROBOT_GRANTS)[number];

/** Harbor's robot lifetime bound: `isValidDuration` accepts -1 or 0 < days < 2^31-1 (src/server/v2.0/handler/robot.go). */
export const MAX_ROBOT_DURATION_DAYS = 2 ** 31 - 2;

/** How long after one pull slot's rotation another may rotate (`holdRotationUntil`), in seconds. */
export const ROTATION_GAP_SECONDS = 120;

/** Why a robot's secret must be rotated now, or undefined when it need not be. */
export function rotationDue(
  secretIssuedAt: number | undefined,
  inputs: Pick<RobotInputs, "rotationDays" | "rotateIfIssuedBefore" | "holdRotationUntil">,
  now: number,
): string | undefined {
  if (secretIssuedAt === undefined) return undefined;
  if (inputs.holdRotationUntil !== undefined && now < inputs.holdRotationUntil) return undefined;
  if (inputs.rotateIfIssuedBefore !== undefined) {
    const before = Date.parse(inputs.rotateIfIssuedBefore) / 1000;
    if (secretIssuedAt < before)
      return `rotation requested for secrets issued before ${inputs.rotateIfIssuedBefore}`;
  }
  if (inputs.rotationDays !== undefined && inputs.rotationDays > 0) {
    const ageDays = (now - secretIssuedAt) / 86400;
    if (ageDays >= inputs.rotationDays) {
      return `secret is ${Math.floor(ageDays)} days old (rotation every ${inputs.rotationDays} days)`;
    }
  }
  return undefined;
}

/** Inputs of a robot account after `check` (defaults filled in, permissions sorted). */
export interface RobotInputs extends HarborConnection {
  readonly project: string;
  readonly name: string;
  readonly description: string;
  readonly permissions: readonly string[];
  readonly duration: number;
  readonly disabled: boolean;
  /** Rotate the secret on the first update once it is this many days old; absent or 0: never by age. */
  readonly rotationDays?: number;
  /** Rotate the secret if it was issued before this instant (ISO 8601): an on-demand rotation. */
  readonly rotateIfIssuedBefore?: string;
  /** Do not rotate before this Unix time (seconds), e.g. while the other pull slot's new secret spreads. */
  readonly holdRotationUntil?: number;
}

/** State of a robot account. `secret` is only known from create and is kept from state afterwards. */
export interface RobotOutputs extends RobotInputs {
  readonly robotId: number;
  /** Harbor's full robot name, e.g. `robot$acme+ci`: the registry user name. */
  readonly fullName: string;
  readonly secret: string;
  /** When the current secret was issued (Unix seconds): at creation or at the last rotation. */
  readonly secretIssuedAt: number;
  /** Expiry in Unix seconds, -1 for never. */
  readonly expiresAt: number;
}

interface HarborRobotModel {
  id: number;
  name: string;
  description?: string;
  level?: string;
  duration?: number;
  disable?: boolean;
  expires_at?: number;
  creation_time?: string;
  permissions?: { kind: string; namespace: string; access?: { resource: string; action: string }[] }[];
}

interface HarborRobotCreated {
  id: number;
  name: string;
  secret: string;
  expires_at?: number;
}

const REPLACE_KEYS = ["url", "project", "name"] as const;
const UPDATE_KEYS = [
  "description",
  "permissions",
  "duration",
  "disabled",
  "rotationDays",
  "rotateIfIssuedBefore",
  "username",
  "password",
] as const;

/** Validates inputs and fills defaults: no description, never expires, enabled. */
export function checkRobot(news: Record<string, unknown>): { inputs: RobotInputs; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const conn = checkConnection(news, failures);
  for (const key of ["project", "name"] as const) {
    const v = news[key];
    if (typeof v !== "string" || (!isUnknown(v) && !HARBOR_NAME_PATTERN.test(v))) {
      failures.push({
        property: key,
        reason: `${key} ${JSON.stringify(v)} must be lower-case letters and digits, separated by single ".", "_" or "-"`,
      });
    }
  }
  let permissions = news.permissions;
  if (!Array.isArray(permissions) || permissions.length === 0) {
    failures.push({
      property: "permissions",
      reason: `permissions must list at least one of ${ROBOT_ACTIONS.join(", ")} (or a project-scope resource:action)`,
    });
    permissions = [];
  } else {
    const known: readonly string[] = [...ROBOT_ACTIONS, ...PROJECT_ROBOT_GRANTS];
    const bad = (permissions as unknown[]).filter((p) => !isUnknown(p) && !known.includes(p as string));
    if (bad.length > 0) {
      failures.push({
        property: "permissions",
        reason:
          `permissions may only be pull, push or a project-scope grant Harbor accepts for robots ` +
          `(resource:action, e.g. tag:create); got ${JSON.stringify(bad)}`,
      });
    }
    permissions = [...new Set(permissions as string[])].sort();
  }
  const duration = news.duration ?? -1;
  if (
    !isUnknown(duration) &&
    !(
      duration === -1 ||
      (Number.isInteger(duration) &&
        (duration as number) > 0 &&
        (duration as number) <= MAX_ROBOT_DURATION_DAYS)
    )
  ) {
    failures.push({
      property: "duration",
      reason: `duration must be -1 (never expires) or a whole number of days from 1 to ${MAX_ROBOT_DURATION_DAYS}, got ${JSON.stringify(duration)}`,
    });
  }
  const rotationDays = news.rotationDays;
  if (
    rotationDays !== undefined &&
    !isUnknown(rotationDays) &&
    !(Number.isInteger(rotationDays) && (rotationDays as number) >= 0)
  ) {
    failures.push({
      property: "rotationDays",
      reason: `rotationDays must be a whole number of days (0: never), got ${JSON.stringify(rotationDays)}`,
    });
  }
  const before = news.rotateIfIssuedBefore;
  if (
    before !== undefined &&
    !isUnknown(before) &&
    (typeof before !== "string" || Number.isNaN(Date.parse(before)))
  ) {
    failures.push({
      property: "rotateIfIssuedBefore",
      reason: `rotateIfIssuedBefore must be an ISO 8601 instant such as 2026-12-01T03:00:00Z, got ${JSON.stringify(before)}`,
    });
  }
  const hold = news.holdRotationUntil;
  if (hold !== undefined && !isUnknown(hold) && !Number.isFinite(hold)) {
    failures.push({
      property: "holdRotationUntil",
      reason: `holdRotationUntil must be a Unix time in seconds, got ${JSON.stringify(hold)}`,
    });
  }
  const inputs: RobotInputs = compact({
    ...conn,
    project: news.project as string,
    name: news.name as string,
    description: (news.description ?? "") as string,
    permissions: permissions as string[],
    duration: duration as number,
    disabled: (news.disabled ?? false) as boolean,
    rotationDays: rotationDays as number | undefined,
    rotateIfIssuedBefore: before as string | undefined,
    holdRotationUntil: hold as number | undefined,
  });
  return { inputs, failures };
}

/** Harbor's permission list for a project robot with these grants (`pull`/`push` are repository actions). */
export function robotPermissions(project: string, actions: readonly string[]) {
  return [
    {
      kind: "project",
      namespace: project,
      access: actions.map((grant) => {
        const [resource, action] = grant.includes(":") ? grant.split(":") : ["repository", grant];
        return { resource, action };
      }),
    },
  ];
}

/** The robot's repository actions as the provider names them; other grants appear as `resource:action`. */
function actionsOf(robot: HarborRobotModel): string[] {
  const actions = (robot.permissions ?? []).flatMap((p) =>
    (p.access ?? []).map((a) => (a.resource === "repository" ? a.action : `${a.resource}:${a.action}`)),
  );
  return [...new Set(actions)].sort();
}

async function getRobot(
  conn: HarborConnection,
  id: string,
  label: string,
): Promise<HarborRobotModel | undefined> {
  try {
    const res = await harborRequest<HarborRobotModel>(conn, {
      call: `get robot account ${label}`,
      method: "GET",
      path: `/robots/${encodeURIComponent(id)}`,
    });
    return res.body;
  } catch (err) {
    if (isHarborStatus(err, 404)) return undefined;
    throw err;
  }
}

function outputsFrom(
  robot: HarborRobotModel,
  kept: RobotInputs & { secret: string; secretIssuedAt?: number },
): RobotOutputs {
  const project = robot.permissions?.[0]?.namespace ?? kept.project;
  // State written before rotation existed has no issue time: the secret dates from the robot's creation.
  const created = robot.creation_time ? Math.floor(Date.parse(robot.creation_time) / 1000) : undefined;
  return compact({
    ...connectionOf(kept),
    project,
    name: kept.name,
    description: robot.description ?? "",
    permissions: actionsOf(robot),
    duration: robot.duration ?? -1,
    disabled: robot.disable ?? false,
    rotationDays: kept.rotationDays,
    rotateIfIssuedBefore: kept.rotateIfIssuedBefore,
    holdRotationUntil: kept.holdRotationUntil,
    robotId: robot.id,
    fullName: robot.name,
    secret: kept.secret,
    secretIssuedAt: (kept.secretIssuedAt ?? created ?? Math.floor(Date.now() / 1000)) as number,
    expiresAt: robot.expires_at ?? -1,
  });
}

/** Harbor's PATCH /robots/{id} with an empty secret: a fresh secret, returned once; the old one stops working. */
async function refreshSecret(
  conn: HarborConnection,
  id: string,
  label: string,
  why: string,
): Promise<string> {
  const res = await harborRequest<{ secret?: string }>(conn, {
    call: `rotate the secret of robot account ${label} (${why})`,
    method: "PATCH",
    path: `/robots/${encodeURIComponent(id)}`,
    body: { secret: "" },
  });
  if (!res.body?.secret) {
    throw new Error(`Harbor rotated the secret of robot account ${label} but returned no new secret`);
  }
  return res.body.secret;
}

function robotBody(
  inputs: Pick<RobotInputs, "description" | "duration" | "disabled" | "project" | "permissions">,
) {
  return {
    description: inputs.description,
    duration: inputs.duration,
    level: "project",
    disable: inputs.disabled,
    permissions: robotPermissions(inputs.project, inputs.permissions),
  };
}

/** The provider object serialized into each `HarborRobotAccount`'s state. */
export const harborRobotAccountProvider: pulumi.dynamic.ResourceProvider<RobotInputs, RobotOutputs> = {
  async check(_olds, news) {
    return checkRobot(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const result = diffProperties(
      olds as unknown as Record<string, unknown>,
      news as unknown as Record<string, unknown>,
      REPLACE_KEYS,
      UPDATE_KEYS,
    );
    // A secret due for rotation is a change even when no input changed.
    if (!result.changes && rotationDue(olds.secretIssuedAt, news, Math.floor(Date.now() / 1000))) {
      return { ...result, changes: true };
    }
    return result;
  },

  async create(inputs) {
    const conn = connectionOf(inputs);
    const label = `"${inputs.name}" in project "${inputs.project}"`;
    const res = await harborRequest<HarborRobotCreated>(conn, {
      call: `create robot account ${label}`,
      method: "POST",
      path: "/robots",
      body: { name: inputs.name, ...robotBody(inputs) },
    });
    const created = res.body;
    if (!created?.secret) {
      throw new Error(`Harbor created robot account ${label} but returned no secret`);
    }
    const issuedAt = Math.floor(Date.now() / 1000);
    if (inputs.disabled) {
      // Harbor's CreateRobot never copies `disable` (src/server/v2.0/handler/robot.go): a new robot is
      // enabled whatever the request says, so disable it with the update call.
      await harborRequest(conn, {
        call: `disable new robot account ${label}`,
        method: "PUT",
        path: `/robots/${created.id}`,
        body: { id: created.id, name: created.name, ...robotBody(inputs) },
      });
    }
    const robot = (await getRobot(conn, String(created.id), label)) ?? {
      ...created,
      ...robotBody(inputs),
    };
    return {
      id: String(created.id),
      outs: outputsFrom(robot, { ...inputs, secret: created.secret, secretIssuedAt: issuedAt }),
    };
  },

  async read(id, props) {
    const state = props as RobotOutputs;
    // read keeps the secret and its issue time from state: Harbor never returns a secret again.
    const robot = await getRobot(connectionOf(state), id, `"${state.fullName ?? state.name}"`);
    if (!robot) return {};
    return { id, props: outputsFrom(robot, state) };
  },

  async update(id, olds, news) {
    const conn = connectionOf(news);
    const label = `"${olds.fullName}"`;
    await harborRequest(conn, {
      call: `update robot account ${label}`,
      method: "PUT",
      path: `/robots/${encodeURIComponent(id)}`,
      // Harbor wants the robot's id and full name back unchanged.
      body: { id: Number(id), name: olds.fullName, ...robotBody(news) },
    });
    let secret = olds.secret;
    // State written before rotation existed has no issue time: record the robot's creation time now and
    // rotate from the next run on. The platform's pull secret gains its second robot in this same run, so a
    // rotation now could leave the pods without a credential Harbor accepts until the secret is updated.
    const legacy = olds.secretIssuedAt === undefined;
    let secretIssuedAt = legacy
      ? outputsFrom((await getRobot(conn, id, label)) ?? { id: Number(id), name: "" }, { ...news, secret })
          .secretIssuedAt
      : olds.secretIssuedAt;
    const now = Math.floor(Date.now() / 1000);
    const due = legacy ? undefined : rotationDue(secretIssuedAt, news, now);
    if (due) {
      secret = await refreshSecret(conn, id, label, due);
      secretIssuedAt = now;
    }
    const robot = await getRobot(conn, id, label);
    if (!robot) {
      throw new Error(`Harbor robot account ${label} (id ${id}) disappeared during update`);
    }
    return { outs: outputsFrom(robot, { ...news, secret, secretIssuedAt }) };
  },

  async delete(id, props) {
    try {
      await harborRequest(connectionOf(props), {
        call: `delete robot account "${props.fullName}"`,
        method: "DELETE",
        path: `/robots/${encodeURIComponent(id)}`,
      });
    } catch (err) {
      if (!isHarborStatus(err, 404)) throw err;
    }
  },
};
