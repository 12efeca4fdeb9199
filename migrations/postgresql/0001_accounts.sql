-- Local and single-sign-on accounts. A password hash is absent for accounts that only sign in
-- through OpenID Connect. Times are Unix microseconds (portable across SQLite and PostgreSQL).
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT,
    is_admin      BIGINT  NOT NULL DEFAULT 0,  -- 0 or 1: sqlx's Any driver reads no SQLite booleans
    created_at    BIGINT  NOT NULL
);

-- A signed-in browser. Only the SHA-256 of the cookie's token is kept, so a copy of the database
-- cannot be used to sign in.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
