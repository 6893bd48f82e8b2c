/**
 * What the argo-cd Helm chart does with `configs.cm` values, and so why the platform writes `oidc.config` as
 * a YAML string (components/platform/argocd.ts).
 *
 * Read at the source (github.com/argoproj/argo-helm, tag argo-cd-7.9.1 — DEFAULT_CHARTS.argoCd, appVersion
 * v2.14.11 — and argo-cd-9.1.0 … 9.3.7, the charts of Argo CD 3.2): `templates/argocd-configs/argocd-cm.yaml`
 * fills `data:` from the helper `argo-cd.config.cm` in `templates/_helpers.tpl`, which writes every key of
 * `configs.cm` (minus `create`/`annotations`, merged over its presets) as `key: <value | toString | toYaml>`
 * at column 0, and the template indents the helper's output under `data:` with `nindent 2`.
 * The chart itself is not vendored here; the pipe it applies is rendered below with the project's own helm.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { buildArgoCdValues } from "../../components/platform/argocd";
import { DEFAULT_CHARTS, parsePlatformConfig } from "../../model/platform-config";

const HELM = join(process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"), "bin/helm");

/** Renders `value` the way the argo-cd chart writes a configs.cm entry: `toString`, then `toYaml`. */
function asChartWritesIt(value: unknown): unknown {
  const dir = mkdtempSync(join(tmpdir(), "imaas-argocd-cm-"));
  try {
    mkdirSync(join(dir, "templates"));
    writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n");
    writeFileSync(
      join(dir, "templates/cm.yaml"),
      // As the chart does: the entry written at column 0, then the whole block indented under data (nindent 2).
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  {{- printf "entry: %s" (.Values.entry | toString | toYaml) | nindent 2 }}\n',
    );
    writeFileSync(join(dir, "values.json"), JSON.stringify({ entry: value }));
    const out = execFileSync(HELM, ["template", "probe", dir, "-f", join(dir, "values.json")], {
      encoding: "utf8",
    });
    return YAML.parse(out).data.entry;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("argo-cd chart: configs.cm values", () => {
  const cfg = parsePlatformConfig({
    clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
    domain: "imaas.test",
    argocd: {
      platformRepo: "https://github.com/acme/imaas.git",
      oidc: { issuer: "https://sso.acme.test", clientId: "argocd" },
    },
  });

  it("the pinned chart is the one whose template was read (argo-cd 7.9.1)", () => {
    assert.deepEqual(DEFAULT_CHARTS.argoCd, {
      repo: "https://argoproj.github.io/argo-helm",
      chart: "argo-cd",
      version: "7.9.1",
    });
  });

  it("a map reaches argocd-cm as Go's map[...] text, which Argo CD cannot read", () => {
    const got = asChartWritesIt({ issuer: "https://sso.acme.test", clientID: "argocd" });
    assert.equal(got, "map[clientID:argocd issuer:https://sso.acme.test]");
  });

  it("the platform's oidc.config (a YAML string) arrives as the same YAML, which parses to the OIDC settings", () => {
    const cm = buildArgoCdValues(cfg, cfg.clusters[0]!).configs.cm as Record<string, unknown>;
    const got = asChartWritesIt(cm["oidc.config"]);
    assert.equal(got, cm["oidc.config"]);
    assert.deepEqual(YAML.parse(got as string), {
      name: "SSO",
      issuer: "https://sso.acme.test",
      clientID: "argocd",
      clientSecret: "$oidc.clientSecret",
      requestedScopes: ["openid", "profile", "email", "groups"],
    });
  });

  it('booleans arrive as the strings Argo CD reads ("false")', () => {
    const cm = buildArgoCdValues(cfg, cfg.clusters[0]!).configs.cm as Record<string, unknown>;
    assert.equal(asChartWritesIt(cm["exec.enabled"]), "false");
  });
});
