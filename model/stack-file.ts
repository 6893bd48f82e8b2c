/**
 * Reads `Pulumi.<stack>.yaml` without the Pulumi CLI, for `imaas validate` and `imaas plan`: the config
 * values as Pulumi would hand them to the program (objects as JSON text), with secrets replaced by a
 * placeholder, since a plan never sees or needs secret values.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { type PlatformConfig, platformConfigFromEntries } from "./platform-config";

export const SECRET_CONFIG_PLACEHOLDER = "[secret]";

export interface StackConfig {
  /** The stack file read. */
  readonly file: string;
  /** Full keys (`imaas:clusters`) to values as Pulumi passes them (strings; objects as JSON). */
  readonly values: Record<string, string>;
  /** Keys whose values are secrets (shown as placeholders). */
  readonly secretKeys: string[];
}

export class StackFileError extends Error {}

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

export function readStackConfig(projectDir: string, stack: string): StackConfig {
  const file = stackFilePath(projectDir, stack);
  if (!existsSync(file))
    throw new StackFileError(`no stack file ${file}; create it or pass --stack with an existing stack`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"), { maxAliasCount: 50 });
  } catch (err) {
    throw new StackFileError(`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new StackFileError(`${file}: config must be a mapping`);
  }
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const isSecret = typeof value === "object" && value !== null && "secure" in value;
    if (isSecret) {
      secretKeys.push(key);
      values[key] = SECRET_CONFIG_PLACEHOLDER;
    } else values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { file, values, secretKeys };
}

/** The platform config of a stack file. */
export function platformConfigOf(stack: StackConfig): PlatformConfig {
  return platformConfigFromEntries(stack.values, stack.file);
}
