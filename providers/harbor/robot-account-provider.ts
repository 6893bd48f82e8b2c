// Dynamic provider for project-level Harbor robot accounts: the CRUD logic behind `HarborRobotAccount`.
// Serialized by value by Pulumi: reference only this folder's plain modules and Node built-ins.
import type * as pulumi from "@pulumi/pulumi";
import { type HarborConnection, harborRequest, isHarborStatus } from "./client";
import { type CheckFailure, checkConnection, connectionOf, isUnknown } from "./connection";
import { compact, diffProperties } from "./diff";
import { HARBOR_NAME_PATTERN } from "./names";

/** Repository actions a project robot can be granted. */
export const ROBOT_ACTIONS = ["pull", "push"] as const;
export type HarborRobotAction = (typeof ROBOT_ACTIONS)[number];

/** Inputs of a robot account after `check` (defaults filled in, permissions sorted). */
export interface RobotInputs extends HarborConnection {
  readonly project: string;
  readonly name: string;
  readonly description: string;
  readonly permissions: readonly string[];
  readonly duration: number;
  readonly disabled: boolean;
}

/** State of a robot account. `secret` is only known from create and is kept from state afterwards. */
export interface RobotOutputs extends RobotInputs {
  readonly robotId: number;
  /** Harbor's full robot name, e.g. `robot$acme+ci`: the registry user name. */
  readonly fullName: string;
  readonly secret: string;
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
  permissions?: { kind: string; namespace: string; access?: { resource: string; action: string }[] }[];
}

interface HarborRobotCreated {
  id: number;
  name: string;
  secret: string;
  expires_at?: number;
}

const REPLACE_KEYS = ["url", "project", "name"] as const;
const UPDATE_KEYS = ["description", "permissions", "duration", "disabled", "username", "password"] as const;

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
      reason: `permissions must list at least one of ${ROBOT_ACTIONS.join(", ")}`,
    });
    permissions = [];
  } else {
    const bad = (permissions as unknown[]).filter(
      (p) => !isUnknown(p) && !ROBOT_ACTIONS.includes(p as HarborRobotAction),
    );
    if (bad.length > 0) {
      failures.push({
        property: "permissions",
        reason: `permissions may only be ${ROBOT_ACTIONS.join(", ")}; got ${JSON.stringify(bad)}`,
      });
    }
    permissions = [...new Set(permissions as string[])].sort();
  }
  const duration = news.duration ?? -1;
  if (
    !isUnknown(duration) &&
    !(duration === -1 || (Number.isInteger(duration) && (duration as number) > 0))
  ) {
    failures.push({
      property: "duration",
      reason: `duration must be -1 (never expires) or a positive number of days, got ${JSON.stringify(duration)}`,
    });
  }
  const inputs: RobotInputs = {
    ...conn,
    project: news.project as string,
    name: news.name as string,
    description: (news.description ?? "") as string,
    permissions: permissions as string[],
    duration: duration as number,
    disabled: (news.disabled ?? false) as boolean,
  };
  return { inputs, failures };
}

/** Harbor's permission list for a project robot with these repository actions. */
export function robotPermissions(project: string, actions: readonly string[]) {
  return [
    {
      kind: "project",
      namespace: project,
      access: actions.map((action) => ({ resource: "repository", action })),
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

function outputsFrom(robot: HarborRobotModel, kept: RobotInputs & { secret: string }): RobotOutputs {
  const project = robot.permissions?.[0]?.namespace ?? kept.project;
  return compact({
    ...connectionOf(kept),
    project,
    name: kept.name,
    description: robot.description ?? "",
    permissions: actionsOf(robot),
    duration: robot.duration ?? -1,
    disabled: robot.disable ?? false,
    robotId: robot.id,
    fullName: robot.name,
    secret: kept.secret,
    expiresAt: robot.expires_at ?? -1,
  });
}

function robotBody(inputs: RobotInputs) {
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
    return diffProperties(
      olds as unknown as Record<string, unknown>,
      news as unknown as Record<string, unknown>,
      REPLACE_KEYS,
      UPDATE_KEYS,
    );
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
    const robot = (await getRobot(conn, String(created.id), label)) ?? {
      ...created,
      ...robotBody(inputs),
    };
    return { id: String(created.id), outs: outputsFrom(robot, { ...inputs, secret: created.secret }) };
  },

  async read(id, props) {
    const state = props as RobotOutputs;
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
    const robot = await getRobot(conn, id, label);
    if (!robot) {
      throw new Error(`Harbor robot account ${label} (id ${id}) disappeared during update`);
    }
    return { outs: outputsFrom(robot, { ...news, secret: olds.secret }) };
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
