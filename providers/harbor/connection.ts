// Connection arguments shared by every Harbor resource, and the plain checks the providers run on them.
// Run-time code here is captured by value into the serialized providers: keep it free of Pulumi values.
import type * as pulumi from "@pulumi/pulumi";
import { type HarborConnection, normalizeHarborUrl } from "./client";

/**
 * Where Harbor is and who the provider acts as. Every Harbor resource carries these, so deleting or
 * refreshing a resource needs nothing but its own state.
 */
export interface HarborConnectionArgs {
  /** Base URL of Harbor, e.g. `https://harbor.example.com`; a trailing `/api/v2.0` is ignored. Changing it replaces the resource. */
  readonly url: pulumi.Input<string>;
  /** Harbor user or system-level robot with rights on the project (a system admin to set quotas). */
  readonly username: pulumi.Input<string>;
  /** Its password; stored as a Pulumi secret, never printed in errors. Changing it updates state only. */
  readonly password: pulumi.Input<string>;
}

/** A validation failure in Pulumi's `check` shape. */
export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

/** Pulumi's placeholder for a value not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when `value` is Pulumi's unknown placeholder (preview of a not yet computed value). */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** Validates and normalizes the connection part of `news`; pushes failures. */
export function checkConnection(news: Record<string, unknown>, failures: CheckFailure[]): HarborConnection {
  let url = news.url;
  if (typeof url !== "string" || url === "") {
    failures.push({ property: "url", reason: "url is required: the base URL of Harbor" });
  } else if (!isUnknown(url)) {
    try {
      url = normalizeHarborUrl(url);
    } catch (err) {
      failures.push({ property: "url", reason: (err as Error).message });
    }
  }
  for (const key of ["username", "password"] as const) {
    if (typeof news[key] !== "string" || news[key] === "") {
      failures.push({ property: key, reason: `${key} is required to call Harbor` });
    }
  }
  return { url: url as string, username: news.username as string, password: news.password as string };
}

/** The connection stored in a resource's state. */
export function connectionOf(props: HarborConnection): HarborConnection {
  return { url: props.url, username: props.username, password: props.password };
}
