-- The tables prisma/schema.prisma describes, applied over the direct URL (never through PgBouncer).
-- Schema changes are plain SQL here: `prisma migrate` needs Prisma's schema engine binary. Keep this file
-- and the Prisma schema in step by hand; the example's test exercises every column.
CREATE TABLE IF NOT EXISTS users (
  id         serial PRIMARY KEY,
  email      text NOT NULL UNIQUE,
  name       text NOT NULL,
  balance    integer NOT NULL DEFAULT 0,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS posts (
  id         serial PRIMARY KEY,
  author_id  integer NOT NULL REFERENCES users (id) ON DELETE RESTRICT ON UPDATE CASCADE,
  title      text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS posts_author_id_idx ON posts (author_id);
