/** The tenant's GitHub team: owners as maintainers, members as members. */
import * as github from "@pulumi/github";
import type * as pulumi from "@pulumi/pulumi";
import { teamName } from "../../model/naming";
import type { TenantSpec } from "../../model/spec";

export function createTeam(
  name: string,
  tenant: TenantSpec,
  parent: pulumi.Resource,
  provider: github.Provider,
): github.Team {
  const opts = { parent, provider };
  const team = new github.Team(
    `${name}-team`,
    { name: teamName(tenant.name), description: `IMaaS tenant ${tenant.displayName}`, privacy: "closed" },
    opts,
  );
  for (const login of tenant.owners) {
    new github.TeamMembership(
      `${name}-owner-${login.toLowerCase()}`,
      { teamId: team.id, username: login, role: "maintainer" },
      opts,
    );
  }
  for (const login of tenant.members) {
    new github.TeamMembership(
      `${name}-member-${login.toLowerCase()}`,
      { teamId: team.id, username: login, role: "member" },
      opts,
    );
  }
  return team;
}
