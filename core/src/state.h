/*
 * The state mig keeps in the database: the version table (current heads,
 * as Alembic's) and mig_history (one row per step). The SQL is written
 * here once and used both online and for offline --sql output, so the two
 * cannot differ.
 */
#ifndef MIG_STATE_H
#define MIG_STATE_H

#include <stdint.h>

#include "buf.h"
#include "drv.h"

typedef struct mig_ctx mig_ctx;

/* One per database (per schema for schema tenants), whatever the version table. */
#define MIG_HISTORY_TABLE "mig_history"
/* The checkpoints of db:backfill (backfill.c), beside them. */
#define MIG_BACKFILL_TABLE "mig_backfill"

typedef struct mig_state {
    const mig_dialect *dialect;
    const mig_plugin *plugin;
    char *version_table; /* quoted */
    char *history_table; /* quoted */
    char *version_name;  /* unquoted, for existence checks */
    char *history_name;
    char *pkc;            /* the version table's key constraint, quoted */
    int scoped;           /* mig_history has its version_table column: 1, 0, -1 unknown */
    char *hist_sql[2][2]; /* [scoped][batch]: the history INSERT of one row, of a batch */
} mig_state;

/* A bound parameter of text (NULL binds NULL; s is borrowed) or of an integer. */
mig_value mig_value_text(const char *s);
mig_value mig_value_int(int64_t i);

int mig_state_init(mig_state *st, mig_ctx *ctx, const mig_plugin *plugin, const char *version_table);
void mig_state_release(mig_state *st);

/* One step's history row. */
typedef struct mig_hist {
    const char *revision;
    const char *direction;  /* upgrade, downgrade, stamp */
    const char *checksum;   /* may be NULL */
    const char *started_at; /* UTC text */
    int64_t duration_ms;
    const char *applied_by;
    const char *state; /* done, failed */
    int64_t statements_applied;
    const char *applied_hash; /* SHA-256 of the statements applied, may be NULL */
} mig_hist;

/*
 * SQL renderers. With db == NULL they append literal SQL text to out
 * (offline); with a connection they run it with bound parameters.
 */
int mig_state_create_tables(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out);
int mig_state_delete_head(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *rev);
int mig_state_insert_head(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *rev);
int mig_state_delete_all_heads(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out);
int mig_state_insert_history(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const mig_hist *h);
/*
 * n history rows at once, online: MIG_STATE_HIST_BATCH rows to an INSERT,
 * the same prepared statement each time (a run kept in one transaction
 * writes its rows before the commit). 25: on SQLite a longer INSERT costs
 * more to prepare than its fewer steps save (1,000 rows: 100 to an INSERT
 * 7.5 M instructions, 25 6.4 M, 10 6.7 M).
 */
#define MIG_STATE_HIST_BATCH 25
int mig_state_insert_history_rows(mig_state *st, mig_ctx *ctx, mig_db *db, const mig_hist *h, size_t n);
/* The latest history row of rev becomes h's state/statements/hash/duration. */
int mig_state_update_progress(mig_state *st, mig_ctx *ctx, mig_db *db, const mig_hist *h);
/*
 * The same two writes as SQL text with the values inlined, appended to out
 * (";\n" after each), for a driver that runs them in one round trip with a
 * revision's statement (MIG_CAP_SERVER_BATCH). db answers whether the table
 * is scoped. MIG_STATE_NOT_INLINABLE: a value cannot travel as a literal
 * (or the table lacks its version_table column); run it with bound values.
 */
#define MIG_STATE_NOT_INLINABLE (-2)
int mig_state_update_progress_text(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out,
                                   const mig_hist *h);
int mig_state_insert_history_text(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out,
                                  const mig_hist *h);

/* Do the tables exist? */
int mig_state_tables_exist(mig_state *st, mig_ctx *ctx, mig_db *db, int *exists);
/* Current heads (empty when the table does not exist yet). */
int mig_state_read_heads(mig_state *st, mig_ctx *ctx, mig_db *db, mig_strvec *out);

/* The part-way failed step, if any (latest history row per revision is failed). */
typedef struct mig_failed {
    char *revision;
    char *direction;
    char *checksum;
    char *applied_hash;
    int64_t statements_applied;
} mig_failed;
int mig_state_find_failed(mig_state *st, mig_ctx *ctx, mig_db *db, mig_failed *out, int *found);
void mig_failed_release(mig_failed *f);

/* Read all history rows, oldest first. */
typedef int (*mig_state_row_fn)(void *payload, const mig_row *row);
int mig_state_read_history(mig_state *st, mig_ctx *ctx, mig_db *db, mig_state_row_fn fn, void *payload);

/* Now, UTC, as "YYYY-MM-DD HH:MM:SS.mmm" (plus "+00" where the type keeps zones). */
void mig_state_now(const mig_state *st, char out[40]);
/* user@host, for applied_by. */
const char *mig_state_applied_by(void);

#endif
