/**
 * The IMaaS CrossGuard policy pack. Constructing the PolicyPack starts the policy server, so this
 * module is only loaded by the Pulumi CLI (`pulumi preview --policy-pack policy`); tests import
 * `./policies` instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { DEFAULT_ENFORCEMENT, POLICIES } from "./policies";

new PolicyPack("imaas", {
  description:
    "IMaaS platform invariants: tenant isolation, no cluster-wide tenant RBAC, data kept on removal.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  policies: POLICIES,
});
