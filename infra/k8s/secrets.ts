/** The stack's generated secrets: every password and SCRAM salt, from @pulumi/random, kept in state. */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackSecrets, UserSecret } from "../render/index.ts";

export interface GeneratedSecretsArgs {
  /**
   * Length of each password. Passwords are alphanumeric so they go into URLs, userlist.txt and
   * redis.conf without escaping. Changing it generates new passwords.
   */
  passwordLength?: number;
}

export class GeneratedSecrets extends pulumi.ComponentResource {
  /** Every secret the renderers need; a Pulumi secret as a whole. */
  readonly secrets: pulumi.Output<StackSecrets>;

  constructor(name: string, args: GeneratedSecretsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:secrets:GeneratedSecrets", name, {}, opts);
    const length = args.passwordLength ?? 32;
    const password = (role: string) => new random.RandomPassword(`${name}-${role}-password`, { length, special: false }, { parent: this }).result;
    // The salt is state, not derived per run: a new salt would change every verifier on every `pulumi up`.
    const user = (role: string): pulumi.Output<UserSecret> =>
      pulumi.all([password(role), new random.RandomBytes(`${name}-${role}-salt`, { length: 16 }, { parent: this }).base64]).apply(([p, salt]) => ({
        password: p,
        salt,
      }));
    const all = pulumi.all([user("superuser"), user("app"), user("pgbouncerAdmin"), user("pgbouncerStats"), password("redis")]);
    this.secrets = pulumi.secret(
      all.apply(([superuser, app, pgbouncerAdmin, pgbouncerStats, redisPassword]): StackSecrets => ({ superuser, app, pgbouncerAdmin, pgbouncerStats, redisPassword })),
    );
    this.registerOutputs({ secrets: this.secrets });
  }
}
