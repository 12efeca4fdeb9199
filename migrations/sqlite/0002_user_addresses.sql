-- The mail addresses a user owns: the portal shows them the archived mailboxes of these addresses.
CREATE TABLE user_addresses (
    address  TEXT   PRIMARY KEY,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX user_addresses_user ON user_addresses(user_id);
