/**
 * The MI base image's PostgreSQL JDBC driver, read from the Dockerfile text: the image cannot be built here
 * (no Docker engine, WSO2's image is on no reachable registry), so this checks what the build would do —
 * a pinned driver release into `<MI_HOME>/lib` (where MI loads JDBC drivers), owned by MI's user, checked to
 * hold the driver class that the chart's WSO2_COORDINATION_DB datasource names.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const DOCKERFILE = readFileSync(join(ROOT, "images/mi-base/Dockerfile"), "utf8");
const CHART_TOML = readFileSync(join(ROOT, "charts/wso2-mi/files/deployment.toml"), "utf8");

/** Dockerfile instructions with continuation lines joined. */
const instructions = DOCKERFILE.replace(/\s*\\\n\s*/g, " ")
  .split("\n")
  .filter((l) => /^[A-Z]+ /.test(l));

describe("MI base image: the PostgreSQL JDBC driver", () => {
  const version = /^ARG POSTGRESQL_JDBC_VERSION=(\d+\.\d+\.\d+)$/m.exec(DOCKERFILE)?.[1];

  it("pins a driver release and adds it from Maven Central into <MI_HOME>/lib, owned by MI's user", () => {
    assert.ok(version, "ARG POSTGRESQL_JDBC_VERSION=<x.y.z>");
    const add = instructions.find((l) => l.startsWith("ADD ") && l.includes("postgresql"));
    assert.equal(
      add,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not JavaScript ones
      "ADD --chown=10802:10802 https://repo1.maven.org/maven2/org/postgresql/postgresql/${POSTGRESQL_JDBC_VERSION}/postgresql-${POSTGRESQL_JDBC_VERSION}.jar /home/wso2carbon/wso2mi-${MI_VERSION}/lib/postgresql-${POSTGRESQL_JDBC_VERSION}.jar",
    );
    // The lib folder is inside WSO2_SERVER_HOME, which the chart's init container copies whole.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
    const from = instructions.indexOf("FROM wso2/wso2mi:${MI_VERSION}");
    assert.ok(from >= 0 && instructions.indexOf(add!) > from, "added on top of WSO2's image");
  });

  it("the build fails unless the jar holds the driver class the chart's datasource names", () => {
    const driver = /^driver = "([^"]+)"$/m.exec(CHART_TOML)?.[1];
    assert.equal(driver, "org.postgresql.Driver");
    const check = instructions.find((l) => l.startsWith("RUN ") && l.includes('jar" tf'));
    assert.ok(check, "a RUN that lists the jar");
    assert.ok(check.includes(`grep -qx '${driver!.replace(/\./g, "/")}.class'`), check);
  });
});
