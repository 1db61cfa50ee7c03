/**
 * What the example's application does with Prisma: one function per kind of work, each a plain query,
 * a batch transaction or an interactive transaction, so each is seen to work through PgBouncer's
 * transaction mode.
 */
import type { PrismaClient } from "./generated/prisma/client.ts";

/** A create. */
export function signUp(prisma: PrismaClient, email: string, name: string) {
  return prisma.user.create({ data: { email, name } });
}

/** A batch `$transaction([...])`: the post and the balance change commit together or not at all. */
export async function publish(prisma: PrismaClient, authorId: number, title: string): Promise<number> {
  const [post] = await prisma.$transaction([
    prisma.post.create({ data: { authorId, title } }),
    prisma.user.update({ where: { id: authorId }, data: { balance: { increment: 1 } } }),
  ]);
  return post.id;
}

/**
 * An interactive transaction: read, decide, write, on one server connection from BEGIN to COMMIT (which
 * is what PgBouncer's transaction mode guarantees). The balance is set from the value read, so a lost
 * update or a half-applied transaction shows in the balance.
 */
export async function publishChecked(prisma: PrismaClient, authorId: number, title: string): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const author = await tx.user.findUniqueOrThrow({ where: { id: authorId } });
    const post = await tx.post.create({ data: { authorId, title } });
    await tx.user.update({ where: { id: authorId }, data: { balance: author.balance + 1 } });
    return post.id;
  });
}

/** Reads: the user with their posts, and a count. */
export async function profile(prisma: PrismaClient, id: number) {
  const [user, posts] = await Promise.all([
    prisma.user.findUniqueOrThrow({ where: { id }, include: { posts: { orderBy: { id: "asc" } } } }),
    prisma.post.count({ where: { authorId: id } }),
  ]);
  return { ...user, postCount: posts };
}
