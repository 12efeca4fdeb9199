-- Who may do what: roles are named sets of permissions, assigned to users for all mailboxes or
-- for a scope of owner domains and addresses. The built-in roles cannot be renamed or deleted.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    builtin     BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE role_permissions (
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT    NOT NULL,
    PRIMARY KEY (role_id, permission)
);

-- scope: empty for all mailboxes, else owner domains ("example.com") and addresses, one per line.
CREATE TABLE role_assignments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    UNIQUE (user_id, role_id)
);
CREATE INDEX role_assignments_user ON role_assignments(user_id);

INSERT INTO roles (name, description, builtin, created_at) VALUES
    ('Administrator', 'Everything, for all mailboxes.', 1, 0),
    ('Help desk', 'Browse mail and restore it; no export, no calendars or contacts.', 1, 0),
    ('Auditor', 'Reads the audit log and nothing else.', 1, 0);

INSERT INTO role_permissions (role_id, permission)
    SELECT r.id, p.permission FROM roles r, (
        SELECT 'connections' AS permission UNION ALL SELECT 'sync_tasks' UNION ALL
        SELECT 'browse_mail' UNION ALL SELECT 'browse_calendars' UNION ALL SELECT 'snapshots' UNION ALL
        SELECT 'export' UNION ALL SELECT 'restore' UNION ALL SELECT 'legacy_import' UNION ALL
        SELECT 'retention' UNION ALL SELECT 'users' UNION ALL SELECT 'roles' UNION ALL
        SELECT 'audit_log'
    ) p WHERE r.name = 'Administrator';
INSERT INTO role_permissions (role_id, permission)
    SELECT r.id, p.permission FROM roles r, (
        SELECT 'browse_mail' AS permission UNION ALL SELECT 'restore'
    ) p WHERE r.name = 'Help desk';
INSERT INTO role_permissions (role_id, permission)
    SELECT id, 'audit_log' FROM roles WHERE name = 'Auditor';

-- Administrators of the single flag become holders of the Administrator role.
INSERT INTO role_assignments (user_id, role_id, scope, created_at)
    SELECT u.id, r.id, '', u.created_at FROM users u, roles r
    WHERE u.is_admin = 1 AND r.name = 'Administrator';
ALTER TABLE users DROP COLUMN is_admin;
-- A disabled user cannot sign in, and their sessions stop working at the next request.
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;

-- Append-only and hash-chained: each entry stores the SHA-256 of its canonical form, which
-- includes the previous entry's hash. `audit_head` holds the chain's end; taking its row lock
-- is what orders concurrent appends.
CREATE TABLE audit_log (
    seq            BIGINT  PRIMARY KEY,
    at             BIGINT  NOT NULL,
    actor_user_id  BIGINT,
    actor          TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    client_address TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    target_mailbox BIGINT,
    target_owner   TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_mailbox ON audit_log(target_mailbox, at);
CREATE INDEX audit_log_owner ON audit_log(target_owner, at);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
