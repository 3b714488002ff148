-- The tables byob created through each connection: members may append to and replace these by default, and
-- not other tables (a connection's `member_access`).
CREATE TABLE connection_tables (
    connection_id  TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    table_name     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (connection_id, table_name)
);
