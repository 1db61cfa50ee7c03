/**
 * The stack's generated secrets: every password and SCRAM salt, made by the same generator the local
 * stack uses (infra/render/secrets.ts) and kept in Pulumi state by the engine's own `pulumi:index:Stash`.
 *
 * Why a Stash and not @pulumi/random: a Stash is built into the Pulumi engine (pkg/resource/deploy/
 * builtins.go at v3.248.0: Create stores `input` as `output`, Update keeps the old `output`), so no
 * provider plugin is needed, here or on a user's machine; pulumi-resource-random cannot be built from
 * the Go module proxy these machines have (docs/engine.md). `ignoreChanges: ["input"]` keeps the fresh
 * values every run generates from showing as an update: the first run's values stay until the Stash is
 * replaced (`pulumi up --replace URN` rotates them).
 */
import * as pulumi from "@pulumi/pulumi";
import { generateSecrets, type StackSecrets, type UserSecret } from "../render/index.ts";

export class GeneratedSecrets extends pulumi.ComponentResource {
  /** Every secret the renderers need; a Pulumi secret as a whole. */
  readonly secrets: pulumi.Output<StackSecrets>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:secrets:GeneratedSecrets", name, {}, opts);
    const fresh = generateSecrets();
    // One Stash per role, so replacing one rotates that role's password alone.
    const stash = <T>(role: string, value: T): pulumi.Output<T> =>
      new pulumi.Stash(`${name}-${role}-secret`, { input: pulumi.secret(value) }, { parent: this, ignoreChanges: ["input"] }).output as pulumi.Output<T>;
    const user = (role: keyof Omit<StackSecrets, "redisPassword">): pulumi.Output<UserSecret> => stash(role, fresh[role]);
    const all = pulumi.all([user("superuser"), user("app"), user("pgbouncerAdmin"), user("pgbouncerStats"), stash("redis", fresh.redisPassword)]);
    this.secrets = pulumi.secret(
      all.apply(([superuser, app, pgbouncerAdmin, pgbouncerStats, redisPassword]): StackSecrets => ({ superuser, app, pgbouncerAdmin, pgbouncerStats, redisPassword })),
    );
    this.registerOutputs({ secrets: this.secrets });
  }
}
