/** Policy 3: every image names a fixed version. `latest`, or no tag at all, means whatever was pushed last. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf } from "./k8s.ts";

/** Why an image reference is not pinned, or undefined when it is (a tag other than latest, or a digest). */
export function imageTagProblem(image: unknown): string | undefined {
  if (typeof image !== "string" || image.trim() === "") return "has no image";
  // A digest pins the content whatever the tag says.
  if (image.includes("@")) return undefined;
  // The tag follows the last ":" of the last path segment; a ":" before a "/" is a registry port.
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon === -1) return `image "${image}" has no tag, so it pulls "latest": pin a version tag or a digest (@sha256:…)`;
  if (lastSegment.slice(colon + 1) === "latest") return `image "${image}" uses the "latest" tag: pin a version tag or a digest (@sha256:…)`;
  return undefined;
}

export const noLatestImages: ResourceValidationPolicy = {
  name: "images-are-pinned",
  description: 'No container image uses the "latest" tag or no tag; a version tag or a digest is required.',
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const pod = podSpecOf(args.type, args.props);
    if (!pod) return;
    for (const { label, c } of containersOf(pod)) {
      const problem = imageTagProblem(c.image);
      if (problem) reportViolation(`${label} ${problem}.`);
    }
  },
};
