-- The HTTP bearer tokens, here rather than in a tokens file, so that every host serving this database
-- signs in the same people: a token added or revoked on one host counts on all of them. Hashes only,
-- as in the file (a token is 32 random bytes; its SHA-256 is all a server needs to check it).
CREATE TABLE tokens (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    sha256 text NOT NULL UNIQUE,
    created_at text NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);
