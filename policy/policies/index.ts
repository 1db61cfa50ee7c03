/** Every policy of the pack, in the order `pulumi preview` lists them. */
import type { Policies } from "@pulumi/policy";
import { connectionBudgetFits } from "./connection-budget.ts";
import { noLatestImages } from "./image-tags.ts";
import { noPlainSecrets } from "./plain-secrets.ts";
import { podSecurityRestricted } from "./pod-security.ts";
import { resourcesAndProbes } from "./resources-and-probes.ts";

export { connectionBudgetFits, noLatestImages, noPlainSecrets, podSecurityRestricted, resourcesAndProbes };

export const policies: Policies = [resourcesAndProbes, podSecurityRestricted, noLatestImages, noPlainSecrets, connectionBudgetFits];
