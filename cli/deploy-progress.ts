/** `imaas deploy`: the live progress of every stack while the pool runs (`Progress`, `statusLine`). */
import { type ChangeCounts, type Operation, seconds } from "./deploy-summary";
import type { DeployTarget } from "./deploy-targets";

/** What a status line shows for one stack. */
export interface StackStatus {
  readonly state: "queued" | "preparing" | "running" | "succeeded" | "failed";
  readonly resources?: number;
  readonly changes?: ChangeCounts;
  readonly startedAt?: number;
  readonly durationMs?: number;
}

function changesText(c: ChangeCounts | undefined): string {
  if (!c) return "";
  const parts = Object.entries(c)
    .filter(([k, n]) => k !== "same" && n > 0)
    .map(([k, n]) => `${n} to ${k}`);
  return parts.length > 0 ? parts.join(", ") : "no changes";
}

/** One status line: `tenant  stack  operation  state  detail  time`. */
export function statusLine(
  target: { readonly tenant: string; readonly stack: string },
  operation: Operation,
  s: StackStatus,
  now: number,
  widths: { readonly tenant: number; readonly stack: number },
): string {
  const time =
    s.durationMs !== undefined
      ? seconds(s.durationMs)
      : s.startedAt !== undefined
        ? seconds(now - s.startedAt)
        : "";
  const detail =
    s.state === "running"
      ? `${s.resources ?? 0} resource(s) seen`
      : s.state === "succeeded"
        ? changesText(s.changes)
        : s.state === "failed"
          ? "see below"
          : "";
  return [
    target.tenant.padEnd(widths.tenant),
    target.stack.padEnd(widths.stack),
    operation.padEnd(7),
    s.state.padEnd(10),
    detail.padEnd(28),
    time,
  ]
    .join("  ")
    .trimEnd();
}

/**
 * Progress of every stack: on a TTY, one line per stack redrawn in place (ANSI cursor up + clear line,
 * at most every 200 ms and at each state change); otherwise a plain line at each state change.
 */
export class Progress {
  private readonly status = new Map<string, StackStatus>();
  private readonly widths: { tenant: number; stack: number };
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: readonly DeployTarget[],
    private readonly operation: Operation,
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly clock: () => number = Date.now,
  ) {
    this.widths = {
      tenant: Math.max(6, ...targets.map((t) => t.tenant.length)),
      stack: Math.max(5, ...targets.map((t) => t.stack.length)),
    };
    for (const t of targets) this.status.set(t.stack, { state: "queued" });
    if (tty && targets.length > 0) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  update(stack: string, patch: Partial<StackStatus>): void {
    const before = this.status.get(stack) ?? { state: "queued" };
    const after = { ...before, ...patch };
    this.status.set(stack, after);
    if (after.state === before.state) return;
    if (this.tty) this.draw();
    else if (after.state !== "queued") {
      const target = this.targets.find((t) => t.stack === stack);
      if (target) this.write(`${statusLine(target, this.operation, after, this.clock(), this.widths)}\n`);
    }
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.targets.length > 0) this.draw();
  }

  private draw(): void {
    const now = this.clock();
    const lines = this.targets.map(
      (t) =>
        `\x1b[2K${statusLine(t, this.operation, this.status.get(t.stack) ?? { state: "queued" }, now, this.widths)}\n`,
    );
    this.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A` : ""}${lines.join("")}`);
    this.drawn = lines.length;
  }
}
