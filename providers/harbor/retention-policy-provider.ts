// Dynamic provider for a Harbor project's tag retention policy: the CRUD logic behind `HarborRetentionPolicy`.
// Serialized by value by Pulumi: reference only this folder's plain modules and Node built-ins.
import type * as pulumi from "@pulumi/pulumi";
import { type HarborConnection, harborRequest, isHarborStatus } from "./client";
import { type CheckFailure, checkConnection, connectionOf, isUnknown } from "./connection";
import { compact, diffProperties, sameValue } from "./diff";
import { HARBOR_NAME_PATTERN } from "./names";

/** Harbor's 6-field cron (seconds first): every day at 00:00. */
export const DAILY = "0 0 0 * * *";

/** Harbor's rule templates used here: keep the K most recently pushed; keep always. */
export const TEMPLATE_LATEST_PUSHED = "latestPushedK";
export const TEMPLATE_ALWAYS = "always";

/** Keep the `count` most recently pushed artifacts that carry a tag matching `pattern`. */
export interface KeepLatestMatching {
  readonly pattern: string;
  readonly count: number;
}

/** Inputs of a retention policy after `check`. */
export interface RetentionInputs extends HarborConnection {
  readonly project: string;
  readonly keepLastPushed: number;
  readonly keepTagsMatching?: string;
  readonly keepLatestMatching?: readonly KeepLatestMatching[];
  readonly schedule: string;
}

/** Harbor allows at most 15 rules per policy (`retentionAPI.CreateRetention`/`UpdateRetention`). */
export const MAX_RULES = 15;

const CRON_BOUNDS: readonly (readonly [number, number, (readonly string[])?])[] = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]],
  [0, 6, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]],
];

/**
 * Why Harbor would refuse `cron` as a retention schedule, or undefined. Harbor parses six fields
 * (seconds first) with robfig/cron and then requires the seconds field to be exactly `0`
 * (`utils.ValidateCronString`, src/common/utils/utils.go): `30 0 0 * * *` is refused.
 */
export function cronError(cron: string): string | undefined {
  const fields = cron.split(" ");
  if (fields.length !== 6 || fields.some((f) => f === "")) {
    return "must be 6 fields separated by single spaces: seconds minutes hours day-of-month month day-of-week";
  }
  if (fields[0] !== "0") return 'the seconds field must be "0" (Harbor runs retention at most once a minute)';
  for (const [i, field] of fields.entries()) {
    const [min, max, names] = CRON_BOUNDS[i];
    for (const part of field.split(",")) {
      const m = /^(\*|\?|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:\/(\d+))?$/.exec(part);
      const num = (v: string) => {
        const n = names?.indexOf(v.toUpperCase()) ?? -1;
        return n >= 0 ? n + min : /^\d+$/.test(v) ? Number(v) : Number.NaN;
      };
      const lo = m?.[2] === undefined ? min : num(m[2]);
      const hi = m?.[3] === undefined ? lo : num(m[3]);
      if (!m || Number.isNaN(lo) || Number.isNaN(hi) || lo < min || hi > max || hi < lo || m[4] === "0") {
        return `field ${i + 1} "${part}" is not a value, range or step within ${min}-${max}`;
      }
    }
  }
  return undefined;
}

/** State of a retention policy. */
export interface RetentionOutputs extends RetentionInputs {
  readonly retentionId: number;
  readonly projectId: number;
  /** Templates of the rules Harbor holds, in order; anything else than the managed rules is drift. */
  readonly ruleTemplates: readonly string[];
}

interface HarborSelector {
  kind: string;
  decoration: string;
  pattern: string;
  extras?: string;
}

interface HarborRetentionRule {
  id?: number;
  priority?: number;
  disabled?: boolean;
  action: string;
  template: string;
  params?: Record<string, unknown>;
  tag_selectors?: HarborSelector[];
  scope_selectors?: Record<string, HarborSelector[]>;
}

/** Harbor's `RetentionPolicy` model. */
export interface HarborRetentionPolicyModel {
  id?: number;
  algorithm: string;
  rules: HarborRetentionRule[];
  trigger: { kind: string; settings: Record<string, unknown>; references?: Record<string, unknown> };
  scope: { level: string; ref: number };
}

interface HarborProjectModel {
  project_id: number;
  name: string;
  metadata?: Record<string, string | undefined>;
}

const REPLACE_KEYS = ["url", "project"] as const;
const UPDATE_KEYS = [
  "keepLastPushed",
  "keepTagsMatching",
  "keepLatestMatching",
  "schedule",
  "username",
  "password",
] as const;

/** Validates inputs; the schedule defaults to daily at midnight. */
export function checkRetention(news: Record<string, unknown>): {
  inputs: RetentionInputs;
  failures: CheckFailure[];
} {
  const failures: CheckFailure[] = [];
  const conn = checkConnection(news, failures);
  const project = news.project;
  if (typeof project !== "string" || (!isUnknown(project) && !HARBOR_NAME_PATTERN.test(project))) {
    failures.push({
      property: "project",
      reason: `project ${JSON.stringify(project)} is not a Harbor project name`,
    });
  }
  const keep = news.keepLastPushed;
  // Harbor accepts 0 <= K < 32767; keeping none is a deletion policy, refused here.
  if (!isUnknown(keep) && !(Number.isInteger(keep) && (keep as number) >= 1 && (keep as number) < 32767)) {
    failures.push({
      property: "keepLastPushed",
      reason: `keepLastPushed must be a whole number from 1 to 32766, got ${JSON.stringify(keep)}`,
    });
  }
  const pattern = news.keepTagsMatching;
  if (pattern !== undefined && (typeof pattern !== "string" || pattern.trim() === "")) {
    failures.push({
      property: "keepTagsMatching",
      reason: "keepTagsMatching must be a non-empty tag pattern",
    });
  }
  const latest = news.keepLatestMatching;
  if (latest !== undefined && !isUnknown(latest)) {
    const ok =
      Array.isArray(latest) &&
      latest.every(
        (r) =>
          r &&
          typeof r.pattern === "string" &&
          r.pattern.trim() !== "" &&
          Number.isInteger(r.count) &&
          r.count >= 1 &&
          r.count < 32767,
      );
    if (!ok) {
      failures.push({
        property: "keepLatestMatching",
        reason: `keepLatestMatching must be a list of { pattern: non-empty tag pattern, count: 1-32766 }, got ${JSON.stringify(latest)}`,
      });
    } else {
      const rules = 1 + (pattern === undefined ? 0 : 1) + latest.length;
      const patterns = latest.map((r: KeepLatestMatching) => r.pattern);
      if (rules > MAX_RULES) {
        failures.push({
          property: "keepLatestMatching",
          reason: `the policy would have ${rules} rules; Harbor allows at most ${MAX_RULES}`,
        });
      } else if (patterns.includes("**")) {
        // The "**" rule is keepLastPushed's; a second one would be read back as it.
        failures.push({
          property: "keepLatestMatching",
          reason: 'keepLatestMatching may not use the pattern "**": that is keepLastPushed',
        });
      } else if (new Set(patterns).size !== patterns.length) {
        // Two equal rules: Harbor refuses the policy with 409 (retentionAPI.checkRuleConflict).
        failures.push({
          property: "keepLatestMatching",
          reason: `keepLatestMatching names a pattern twice (${JSON.stringify(patterns)}); Harbor refuses duplicate rules`,
        });
      }
    }
  }
  const schedule = news.schedule ?? DAILY;
  const scheduleError = typeof schedule === "string" ? cronError(schedule) : "must be a string";
  if (!isUnknown(schedule) && scheduleError) {
    failures.push({
      property: "schedule",
      reason: `schedule ${JSON.stringify(schedule)} ${scheduleError} (e.g. "${DAILY}", daily at midnight)`,
    });
  }
  const inputs: RetentionInputs = compact({
    ...conn,
    project: project as string,
    keepLastPushed: keep as number,
    keepTagsMatching: pattern as string | undefined,
    keepLatestMatching: latest as KeepLatestMatching[] | undefined,
    schedule: schedule as string,
  });
  return { inputs, failures };
}

const ALL_REPOSITORIES = { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] };

/** The rules for the inputs: keep the N latest pushed (tagged or not) per repository; keep matching tags. */
export function retentionRules(inputs: RetentionInputs): HarborRetentionRule[] {
  const rules: HarborRetentionRule[] = [
    {
      disabled: false,
      action: "retain",
      template: TEMPLATE_LATEST_PUSHED,
      params: { [TEMPLATE_LATEST_PUSHED]: inputs.keepLastPushed },
      tag_selectors: [
        { kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":true}' },
      ],
      scope_selectors: ALL_REPOSITORIES,
    },
  ];
  if (inputs.keepTagsMatching !== undefined) {
    rules.push({
      disabled: false,
      action: "retain",
      template: TEMPLATE_ALWAYS,
      params: {},
      tag_selectors: [
        {
          kind: "doublestar",
          decoration: "matches",
          pattern: inputs.keepTagsMatching,
          extras: '{"untagged":false}',
        },
      ],
      scope_selectors: ALL_REPOSITORIES,
    });
  }
  for (const { pattern, count } of inputs.keepLatestMatching ?? []) {
    rules.push({
      disabled: false,
      action: "retain",
      template: TEMPLATE_LATEST_PUSHED,
      params: { [TEMPLATE_LATEST_PUSHED]: count },
      tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern, extras: '{"untagged":false}' }],
      scope_selectors: ALL_REPOSITORIES,
    });
  }
  return rules;
}

/** Harbor's policy document for the inputs on project `projectId`. */
export function retentionPolicy(inputs: RetentionInputs, projectId: number): HarborRetentionPolicyModel {
  return {
    algorithm: "or",
    rules: retentionRules(inputs),
    trigger: { kind: "Schedule", settings: { cron: inputs.schedule }, references: {} },
    scope: { level: "project", ref: projectId },
  };
}

async function getProject(conn: HarborConnection, name: string): Promise<HarborProjectModel | undefined> {
  try {
    const res = await harborRequest<HarborProjectModel>(conn, {
      call: `get project "${name}"`,
      method: "GET",
      path: `/projects/${encodeURIComponent(name)}`,
      headers: { "X-Is-Resource-Name": "true" },
    });
    return res.body;
  } catch (err) {
    if (isHarborStatus(err, 404)) return undefined;
    throw err;
  }
}

/**
 * Harbor's policy by id. Only call it for the policy the project links to: Harbor answers a missing
 * policy with 500, not 404 (`retentionAPI.GetRetention` passes the lookup error on as is), so the
 * project's `retention_id` is the existence test.
 */
async function getPolicy(conn: HarborConnection, id: string, project: string) {
  const res = await harborRequest<HarborRetentionPolicyModel>(conn, {
    call: `get retention policy of project "${project}"`,
    method: "GET",
    path: `/retentions/${encodeURIComponent(id)}`,
  });
  return res.body;
}

/** State from Harbor's policy: the managed rules it recognizes, plus every rule's template for drift. */
function outputsFrom(
  policy: HarborRetentionPolicyModel,
  project: HarborProjectModel,
  kept: RetentionInputs,
  id: string,
) {
  const active = (policy.rules ?? []).filter((r) => !r.disabled);
  const isAll = (r: HarborRetentionRule) => r.tag_selectors?.[0]?.pattern === "**";
  const latest = active.find((r) => r.template === TEMPLATE_LATEST_PUSHED && isAll(r));
  const always = active.find((r) => r.template === TEMPLATE_ALWAYS);
  const matching = active
    .filter((r) => r.template === TEMPLATE_LATEST_PUSHED && !isAll(r))
    .map((r) => ({
      pattern: String(r.tag_selectors?.[0]?.pattern),
      count: Number(r.params?.[TEMPLATE_LATEST_PUSHED] ?? 0),
    }));
  return compact({
    ...connectionOf(kept),
    project: project.name,
    keepLastPushed: Number(latest?.params?.[TEMPLATE_LATEST_PUSHED] ?? 0),
    keepTagsMatching: always?.tag_selectors?.[0]?.pattern,
    keepLatestMatching: matching.length > 0 || kept.keepLatestMatching ? matching : undefined,
    schedule: String(policy.trigger?.settings?.cron ?? ""),
    retentionId: Number(id),
    projectId: project.project_id,
    ruleTemplates: active.map((r) => r.template),
  }) as RetentionOutputs;
}

async function requireProject(
  conn: HarborConnection,
  name: string,
  doing: string,
): Promise<HarborProjectModel> {
  const project = await getProject(conn, name);
  if (!project) {
    throw new Error(`Cannot ${doing} the retention policy: Harbor project "${name}" does not exist`);
  }
  return project;
}

/** The provider object serialized into each `HarborRetentionPolicy`'s state. */
export const harborRetentionPolicyProvider: pulumi.dynamic.ResourceProvider<
  RetentionInputs,
  RetentionOutputs
> = {
  async check(_olds, news) {
    return checkRetention(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const result = diffProperties(
      olds as unknown as Record<string, unknown>,
      news as unknown as Record<string, unknown>,
      REPLACE_KEYS,
      UPDATE_KEYS,
    );
    // Rules added or removed by hand in Harbor are drift too.
    const expected = retentionRules(news).map((r) => r.template);
    if (olds.ruleTemplates && !sameValue(olds.ruleTemplates, expected)) {
      return { ...result, changes: true };
    }
    return result;
  },

  async create(inputs) {
    const conn = connectionOf(inputs);
    const project = await requireProject(conn, inputs.project, "create");
    const policy = retentionPolicy(inputs, project.project_id);
    const existing = project.metadata?.retention_id;
    let id: string;
    if (existing) {
      // A project has at most one policy; Harbor refuses a second one. Take the existing one over.
      await harborRequest(conn, {
        call: `replace existing retention policy ${existing} of project "${project.name}"`,
        method: "PUT",
        path: `/retentions/${encodeURIComponent(existing)}`,
        body: { ...policy, id: Number(existing) },
      });
      id = existing;
    } else {
      const res = await harborRequest(conn, {
        call: `create retention policy of project "${project.name}"`,
        method: "POST",
        path: "/retentions",
        body: policy,
      });
      const fromLocation = /\/retentions\/(\d+)$/.exec(res.headers.get("location") ?? "")?.[1];
      const fromProject = fromLocation
        ? undefined
        : (await getProject(conn, project.name))?.metadata?.retention_id;
      const found = fromLocation ?? fromProject;
      if (!found) {
        throw new Error(
          `Harbor created the retention policy of project "${project.name}" but did not return its id`,
        );
      }
      id = found;
    }
    return { id, outs: outputsFrom({ ...policy, id: Number(id) }, project, inputs, id) };
  },

  async read(id, props) {
    const state = props as RetentionOutputs;
    const conn = connectionOf(state);
    const project = await getProject(conn, state.project);
    // Gone with its project, or the project now points at another policy.
    if (!project || project.metadata?.retention_id !== id) return {};
    const policy = await getPolicy(conn, id, state.project);
    return { id, props: outputsFrom(policy, project, state, id) };
  },

  async update(id, _olds, news) {
    const conn = connectionOf(news);
    const project = await requireProject(conn, news.project, "update");
    if (project.metadata?.retention_id !== id) {
      // Harbor would answer 404 (retentionAPI.requirePolicyAccess): say what happened instead.
      throw new Error(
        `Cannot update retention policy ${id}: Harbor project "${project.name}" now has ` +
          `${project.metadata?.retention_id ? `policy ${project.metadata.retention_id}` : "no retention policy"}. ` +
          "Run `pulumi refresh` so the policy is recreated (or taken over) by the next `pulumi up`.",
      );
    }
    const policy = { ...retentionPolicy(news, project.project_id), id: Number(id) };
    await harborRequest(conn, {
      call: `update retention policy of project "${project.name}"`,
      method: "PUT",
      path: `/retentions/${encodeURIComponent(id)}`,
      body: policy,
    });
    return { outs: outputsFrom(policy, project, news, id) };
  },

  async delete(id, props) {
    const conn = connectionOf(props);
    const project = await getProject(conn, props.project);
    // Harbor answers 400, not 404, for a policy that is already gone: ask the project first.
    if (!project || project.metadata?.retention_id !== id) return;
    try {
      await harborRequest(conn, {
        call: `delete retention policy of project "${project.name}"`,
        method: "DELETE",
        path: `/retentions/${encodeURIComponent(id)}`,
      });
    } catch (err) {
      // Gone meanwhile: Harbor answers 400 "no such Retention policy" (DeleteRetention wraps the lookup error).
      if (isHarborStatus(err, 400) && /no such Retention policy/i.test(err.detail)) return;
      throw err;
    }
  },
};
