/**
 * The pooling policy pack: `pulumi preview --policy-pack policy` from the project root. Constructing
 * the PolicyPack starts the gRPC server the Pulumi CLI talks to, so tests import `./policies/index.ts`
 * instead of this file.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies/index.ts";

new PolicyPack("pooling", { policies, enforcementLevel: "mandatory", description: "Kubernetes hygiene and the PgBouncer connection budget for the pooling stack." });
