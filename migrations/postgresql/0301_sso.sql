-- Single sign-on through OpenID Connect.
-- A sign-in in progress: created when the browser is sent to the provider, taken (and deleted)
-- when it comes back. The PKCE verifier and the nonce never leave the server.
CREATE TABLE sso_logins (
    state         TEXT   PRIMARY KEY,
    nonce         TEXT   NOT NULL,
    pkce_verifier TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Which provider account is which user: the issuer and its `sub` claim, never the e-mail
-- address (which can change or be reassigned).
CREATE TABLE user_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

-- Where an assignment came from: 'manual' (an administrator or the command line) or 'sso' (the
-- provider's roles claim, replaced at every sign-in). Manual ones are never touched by a sign-in.
ALTER TABLE role_assignments ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
