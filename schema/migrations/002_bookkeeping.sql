-- 002: ETL bookkeeping: runs, the file manifest and the quarantine.

CREATE SEQUENCE etl_run_seq START 1;

CREATE TABLE etl_runs (
    run_id       BIGINT PRIMARY KEY,
    job          VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'success', 'failed', 'noop')),
    files        INTEGER NOT NULL DEFAULT 0,
    rows_read    BIGINT NOT NULL DEFAULT 0,
    rows_loaded  BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    rows_duplicate   BIGINT NOT NULL DEFAULT 0,
    duration_ms  BIGINT,
    error        VARCHAR
);

-- etl_files is the manifest: the last committed version of each source file per job.
CREATE TABLE etl_files (
    job        VARCHAR NOT NULL,
    path       VARCHAR NOT NULL,
    size       BIGINT NOT NULL,
    sha256     VARCHAR NOT NULL,
    rows       BIGINT NOT NULL,
    run_id     BIGINT NOT NULL,
    loaded_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (job, path)
);

CREATE TABLE quarantine (
    run_id   BIGINT NOT NULL,
    job      VARCHAR NOT NULL,
    file     VARCHAR NOT NULL,
    line     BIGINT,
    reason   VARCHAR NOT NULL,
    raw      VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);

-- data_version is bumped by every ETL commit; caches key on it.
CREATE TABLE data_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO data_version VALUES (1, 0, TIMESTAMP '1970-01-01 00:00:00');
