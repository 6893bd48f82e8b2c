/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): self time by owner (imaas's own files, each package,
 * Node internals, GC), the top functions by self time, and imaas's own functions by inclusive time.
 *
 *   tsx bench/profile.ts FILE.cpuprofile [--top 25] [--maps FILE.sourcemaps.json] [--under FUNCTION]
 *
 * V8 reports positions in the code it ran (tsx's transpiled output); with the source maps bench/worker.ts
 * saves (`--maps`), imaas's own functions are reported with their .ts line, else with `~line` of the
 * transpiled code. `--under NAME` counts only samples below a function of that name.
 */
import { readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath } from "node:url";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, in the code V8 ran. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Timed {
  readonly name: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time per owner: `imaas <file>`, a package name, `node`, `(garbage collector)`, … */
  readonly byOwner: Timed[];
  /** Functions by self time, as `name owner:line`. */
  readonly topSelf: Timed[];
  /** imaas's own functions by inclusive time (each sample counted once per function, recursion included). */
  readonly ownInclusive: Timed[];
}

/** Who a frame belongs to: imaas's own file (relative to root), a package, Node, or V8's pseudo-frames. */
export function ownerOf(frame: CallFrame, root: string): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  if (url.startsWith("node:")) return "node";
  if (url.startsWith("wasm:")) return "wasm";
  const path = url.startsWith("file:") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (nm >= 0) {
    const parts = path.slice(nm + 14).split(sep);
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const rel = relative(root, path);
  return rel.startsWith("..") ? path : `imaas ${rel}`;
}

function top(map: Map<string, number>, n: number): Timed[] {
  return [...map.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}

export interface SummaryOptions {
  /** Functions listed per section. @default 25 */
  readonly top?: number;
  /** Source maps of imaas's modules (written by bench/worker.ts), to report .ts lines. */
  readonly maps?: string;
  /** Only count samples with a frame whose function name is this (what a function costs, and where). */
  readonly under?: string;
}

/** Maps a frame's position in the transpiled code to `file.ts:line` of the source, when a map is known. */
function sourceLines(mapsFile: string | undefined): (frame: CallFrame) => number | undefined {
  if (!mapsFile) return () => undefined;
  const payloads = JSON.parse(readFileSync(mapsFile, "utf8")) as Record<string, SourceMapPayload>;
  const maps = new Map(Object.entries(payloads).map(([url, p]) => [url, new SourceMap(p)]));
  return (frame) => {
    const entry = maps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as
      | { originalLine?: number }
      | undefined;
    return entry?.originalLine === undefined ? undefined : entry.originalLine + 1;
  };
}

export function summarizeProfile(file: string, root: string, options: SummaryOptions = {}): ProfileSummary {
  const n = options.top ?? 25;
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const sourceLine = sourceLines(options.maps);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const owner = new Map(profile.nodes.map((node) => [node.id, ownerOf(node.callFrame, root)]));
  const labels = new Map(
    profile.nodes.map((node) => {
      const line = sourceLine(node.callFrame) ?? `~${node.callFrame.lineNumber + 1}`;
      return [node.id, `${node.callFrame.functionName || "(anonymous)"} ${owner.get(node.id)}:${line}`];
    }),
  );
  const label = (node: ProfileNode) => labels.get(node.id)!;

  const byOwner = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    if (options.under !== undefined) {
      let found = false;
      for (let cur: number | undefined = id; cur !== undefined && !found; cur = parent.get(cur)) {
        found = byId.get(cur)!.callFrame.functionName === options.under;
      }
      if (!found) return;
    }
    total += dt;
    const o = owner.get(id)!;
    byOwner.set(o, (byOwner.get(o) ?? 0) + dt);
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!;
      if (!owner.get(cur)!.startsWith("imaas ")) continue;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });
  return {
    totalMs: total / 1000,
    byOwner: top(byOwner, n),
    topSelf: top(self, n),
    ownInclusive: top(inclusive, n),
  };
}

export function formatProfileReport(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1)}%`;
  const section = (title: string, rows: readonly Timed[]) =>
    [
      `${title}`,
      ...rows.map((r) => `  ${r.ms.toFixed(0).padStart(7)} ms ${pct(r.ms).padStart(6)}  ${r.name}`),
    ].join("\n");
  return [
    `total sampled: ${s.totalMs.toFixed(0)} ms`,
    section("self time by owner:", s.byOwner),
    section("top functions by self time:", s.topSelf),
    section("imaas's own functions by inclusive time:", s.ownInclusive),
  ].join("\n\n");
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, maps: { type: "string" }, under: { type: "string" } },
  });
  if (positionals.length !== 1) {
    console.error(
      "usage: tsx bench/profile.ts FILE.cpuprofile [--top 25] [--maps FILE.sourcemaps.json] [--under FUNCTION]",
    );
    process.exit(2);
  }
  const summary = summarizeProfile(positionals[0], join(__dirname, ".."), {
    top: Number(values.top),
    ...(values.maps ? { maps: values.maps } : {}),
    ...(values.under ? { under: values.under } : {}),
  });
  console.log(formatProfileReport(summary));
}
