/*
 * Running a plan: upgrade, downgrade and stamp, online or as offline SQL.
 *
 * Order of a run that writes: connect; take the lock; create the state
 * tables; read the version table again (another process may have moved it
 * while we waited, and a plan from the first read would apply revisions
 * twice); refuse if a part-way failed revision is recorded; plan; read
 * every file the plan needs and check it can run (before anything runs);
 * run the steps; commit; release the lock.
 *
 * Transactions: where DDL is transactional the whole run is one
 * transaction unless transaction_per_migration is set. A revision marked
 * `-- mig:transaction false`, and every revision on a driver without
 * transactional DDL, runs statement by statement outside a transaction,
 * with its progress recorded in mig_history so a failure part-way can be
 * resumed at the failed statement.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "lock.h"
#include "lua_hooks.h"
#include "progress.h"
#include "revfile.h"
#include "rules.h"
#include "sqlsplit.h"
#include "tenant.h"
#include "url.h"

typedef struct run {
    mig_ctx *ctx;
    mig_session s;
    mig_db *lockdb;
    char *lock_key;
    int locked;
    int lock_pooled; /* lockdb is the tenant worker's (mig_tenant_lock_db) */
    mig_graph *g;
    mig_plan *plan;
    mig_revbody *bodies;
    int per_migration;
    int transactional_ddl;
    unsigned flags;
    mig_buf sql; /* offline output */
    int offline;
    mig_strvec heads;
    /*
     * Inside one transaction for the whole run nobody sees the version
     * table between steps, so its changes and the history rows are kept
     * here and written once before the commit: three statements fewer per
     * revision, and no re-preparing them after every DDL statement.
     */
    int defer;
    mig_strvec db_heads;  /* the version table as written */
    mig_strvec sim_heads; /* ... as it stands after the steps run so far */
    struct deferred_hist {
        const char *revision; /* borrowed from the graph */
        const char *direction;
        char checksum[65];
        char started[40];
        int64_t duration_ms;
        int64_t statements;
    } * dh;
    size_t ndh, cap_dh;
    mig_lua *lua;           /* Lua revisions and hooks (online only) */
    const mig_rev *cur_rev; /* the step running, for on_error */
    size_t steps_applied;   /* across re-plans */
    int hooks_started;      /* before_migrate ran */
    /*
     * What became of each step, for the report and for saying where a
     * failed run left the database: a step is open until the transaction
     * it ran in commits, and done_heads follows the commits.
     */
    struct step_rec {
        const mig_rev *rev;
        const mig_plan_step *st; /* while open; plans are remade only between transactions */
        int upgrade;
        double ms;
        int status;
        int attempts;
    } * recs;
    size_t nrecs, cap_recs;
    int heads_read; /* done_heads holds the version table */
    mig_strvec done_heads;
    mig_strvec start_heads;
    /* the failed step ran outside a transaction: how far it got */
    int fail_stepwise;
    size_t fail_applied, fail_total;
    /* [mig] lock_timeout_ddl (-1: none) and lock_retries: for revisions whose headers say nothing */
    long long cfg_lock_ms;
    int cfg_retries;
    int attempts;           /* of the step running: 1, more after retries */
    size_t step_i;          /* the plan's step running */
    const mig_rev *row_for; /* its history row is written: our last commit wrote it (run_packed) */
} run;

enum { REC_OPEN, REC_DONE, REC_FAILED, REC_UNDONE };

/* run_plan's answer when another run moved the version table between our transactions */
#define REPLAN 1

static double now_ms(void)
{
    return mig_now_ms();
}

static int line_of(const char *text, size_t off)
{
    int line = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* Byte offset of the 1-based character position pos in s[0..len). */
static size_t byte_of_char(const char *s, size_t len, long pos)
{
    size_t i = 0;
    long chars = 0;
    while (i < len && chars < pos - 1) {
        unsigned char c = (unsigned char)s[i++];
        if ((c & 0xC0) != 0x80)
            chars++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

/*
 * A statement run on its own has its error located in itself: move the
 * place (statement start, error position) to where it sits in the section.
 */
static void shift_error(mig_drv_error *de, const char *text, size_t off)
{
    de->stmt_offset += off;
    if (de->position > 0) {
        long chars = 0;
        for (size_t i = 0; i < off; i++)
            chars += ((unsigned char)text[i] & 0xC0) != 0x80;
        de->position += chars;
    }
}

/*
 * Turn the context's database error into the error of a revision: name
 * the revision, its file and line, the statement, the database's words,
 * the tenant.
 */
static int revision_error(run *r, const mig_rev *rev, const char *text, size_t len, int first_line,
                          const mig_drv_error *de)
{
    mig_ctx *ctx = r->ctx;
    size_t stmt_off = de->stmt_offset <= len ? de->stmt_offset : 0;
    size_t err_off = stmt_off;
    if (de->position > 0)
        err_off = byte_of_char(text, len, de->position);
    /* skip blank lines before the statement so the line is its first */
    size_t s = stmt_off;
    while (s < len && (text[s] == ' ' || text[s] == '\t' || text[s] == '\n' || text[s] == '\r'))
        s++;
    int empty = 0;
    size_t stmt_len = mig_plugin_statement_end(r->s.plugin, text + s, len - s, &empty);
    int line = first_line + line_of(text, de->position > 0 ? err_off : s);

    char *dbmsg = mig_strdup(mig_last_error(ctx)->message);
    char *dbdetail = mig_strdup(mig_last_error(ctx)->detail);
    int code = mig_last_error(ctx)->code == MIG_ELOCK ? MIG_ELOCK : MIG_EFAIL;
    mig_buf stmt = MIG_BUF_INIT;
    /* from the start of its line, so its first line's indentation counts */
    size_t from = s;
    while (from > stmt_off && (text[from - 1] == ' ' || text[from - 1] == '\t'))
        from--;
    mig_buf_put_statement(&stmt, text + from, s + stmt_len - from, 300);
    int rc = mig_fail(ctx, code, "revision %s failed at %s:%d: %s", rev->id, rev->path, line,
                      dbmsg ? dbmsg : "");
    mig_error_where(ctx, rev->path, line);
    mig_error_detail(ctx, "%s", mig_buf_cstr(&stmt));
    if (dbdetail && *dbdetail)
        mig_error_detail(ctx, "%s", dbdetail);
    mig_buf_release(&stmt);
    free(dbmsg);
    free(dbdetail);
    return rc;
}

static int begin(run *r)
{
    int rc = mig_db_begin(r->s.db, r->ctx, 1);
    if (rc == MIG_ELOCK && mig_cancel_level(r->ctx) > 0) {
        /* the wait was cut short by a cancel (SQLite's busy handler gives up), not timed out */
        rc = mig_fail(r->ctx, MIG_EFAIL, "cancelled: stopped while waiting for the database write lock");
        mig_error_hint(r->ctx, "nothing was applied; run the same command again to go on");
    } else if (rc == MIG_ELOCK) {
        mig_fail(r->ctx, MIG_ELOCK, "could not take the database write lock within %g s",
                 r->ctx->opts.lock_timeout);
        mig_error_hint(r->ctx,
                       "another mig run (or another writer) holds it; raise --lock-timeout or retry");
    }
    return rc;
}

/*
 * Lock, then begin. Drivers with a session lock take it on a dedicated
 * connection; SQLite's BEGIN IMMEDIATE is its lock.
 */
static int take_lock(run *r)
{
    mig_ctx *ctx = r->ctx;
    if (!(r->s.plugin->driver->caps & (MIG_CAP_SESSION_LOCK | MIG_CAP_WRITE_TXN_LOCKS))) {
        /* two runs at once could both apply a revision: only the user can vouch there is one */
        const char *name = r->s.plugin->driver->name;
        mig_log(ctx, MIG_LOG_WARN,
                "driver '%s' offers no migration lock: nothing stops another mig "
                "run from writing at the same time",
                name);
        if (!ctx->opts.no_lock) {
            int rc = mig_fail(ctx, MIG_ECONFIG,
                              "driver '%s' offers no migration lock, so mig does "
                              "not write with it",
                              name);
            mig_error_hint(ctx, "make sure no other run is writing, and give --no-lock");
            return rc;
        }
    }
    if ((r->s.plugin->driver->caps & MIG_CAP_SESSION_LOCK) && !ctx->no_lock) {
        int rc = mig_tenant_lock_db(ctx, &r->s, &r->lockdb, &r->lock_pooled);
        if (rc)
            return rc;
        /* each tenant has its own lock, so processes can share the tenants */
        r->lock_key = ctx->tenant ? mig_aprintf("mig:%s:%s", r->s.st.version_name, ctx->tenant)
                                  : mig_aprintf("mig:%s", r->s.st.version_name);
        if (r->lock_key == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        if (ctx->lock_try_only) {
            char holder[256];
            int busy = 0;
            rc = mig_db_lock_try(r->lockdb, ctx, r->lock_key, &busy, holder, sizeof holder);
            if (rc == 0 && busy)
                return mig_fail(ctx, MIG_EBUSY, "tenant %s is being migrated by %s", ctx->tenant,
                                holder[0] ? holder : "another session");
        } else {
            rc = mig_lock_acquire(r->lockdb, ctx, r->lock_key, ctx->opts.lock_timeout);
        }
        if (rc)
            return rc;
        r->locked = 1;
    }
    if (r->transactional_ddl)
        return begin(r);
    return 0;
}

/*
 * The run's end, failed or not. The rollback and the lock's release keep
 * the error that ended the run (theirs shows only when there was none),
 * and neither depends on memory being left.
 */
static void release(run *r)
{
    mig_error_state saved;
    if (r->s.db && r->s.db->in_txn && !r->s.db->broken) {
        mig_error_save(r->ctx, &saved);
        (void)mig_db_rollback(r->s.db, r->ctx);
        mig_error_restore(r->ctx, &saved);
    }
    int held = r->locked;
    if (r->locked && !r->lockdb->broken) {
        mig_error_save(r->ctx, &saved);
        held = mig_lock_release(r->lockdb, r->ctx, r->lock_key) != 0;
        mig_error_restore(r->ctx, &saved);
    }
    mig_tenant_lock_db_done(r->ctx, r->lockdb, r->lock_pooled, held);
    free(r->lock_key);
    mig_session_close(&r->s);
    mig_plan_free(r->plan);
    mig_buf_release(&r->sql);
    mig_strvec_release(&r->heads);
    mig_strvec_release(&r->db_heads);
    mig_strvec_release(&r->sim_heads);
    mig_strvec_release(&r->done_heads);
    mig_strvec_release(&r->start_heads);
    free(r->dh);
    free(r->recs);
}

static void free_bodies(mig_revbody *b, size_t n)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        mig_revbody_release(&b[i]);
    free(b);
}

/* Read every file the plan needs; refuse what cannot run, before anything runs. */
static int load_bodies(run *r)
{
    mig_ctx *ctx = r->ctx;
    r->bodies = calloc(r->plan->nsteps ? r->plan->nsteps : 1, sizeof *r->bodies);
    if (r->bodies == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->plan->nsteps; i++) {
        const mig_plan_step *st = &r->plan->steps[i];
        int rc = mig_revfile_load_body(&r->bodies[i], ctx, st->rev);
        if (rc)
            return rc;
        if (st->rev->is_lua) {
            if (r->offline) {
                rc = mig_fail(ctx, MIG_EREVFILE,
                              "%s: revision %s is a Lua revision: offline --sql cannot render it",
                              st->rev->path, st->rev->id);
                mig_error_hint(ctx, "run the range around it online, or split the offline range");
                return rc;
            }
            if (r->lua == NULL && (rc = mig_lua_new(&r->lua, ctx, r->s.db, ctx->tenant)) != 0)
                return rc;
            /* compiled and checked now, before anything runs */
            int has_down = 0;
            rc = mig_lua_revision_load(r->lua, st->rev, &r->bodies[i], &has_down);
            if (rc)
                return rc;
            r->bodies[i].has_upgrade = 1;
            r->bodies[i].has_downgrade = has_down;
        }
        if (!st->upgrade && !r->bodies[i].has_downgrade) {
            int e = mig_fail(ctx, MIG_EREVFILE,
                             "%s: revision %s has no downgrade %s: cannot downgrade through it",
                             st->rev->path, st->rev->id, st->rev->is_lua ? "function" : "section");
            mig_error_where(ctx, st->rev->path, 0);
            return e;
        }
        if (st->upgrade && !r->bodies[i].has_upgrade)
            return mig_fail(ctx, MIG_EREVFILE, "%s: revision %s has no '-- mig:upgrade' section",
                            st->rev->path, st->rev->id);
    }
    return 0;
}

static int change_heads(mig_strvec *heads, const mig_plan_step *st);

/* The step's ends as the user reads them: every parent of a merge, base for a root. */
static void step_ends(const mig_plan_step *st, mig_buf *parents, const char **from, const char **to)
{
    for (size_t i = 0; i < st->rev->down.n; i++) {
        if (i)
            mig_buf_puts(parents, ", ");
        mig_buf_puts(parents, st->rev->down.v[i]);
    }
    const char *other = st->rev->down.n ? mig_buf_cstr(parents) : "base";
    *from = st->upgrade ? other : st->rev->id;
    *to = st->upgrade ? st->rev->id : other;
}

static void step_begin(run *r, const mig_plan_step *st)
{
    if (!mig_progress_wanted(r->ctx)) {
        mig_progress_begin(r->ctx, NULL, NULL, NULL, NULL);
        return;
    }
    mig_buf parents = MIG_BUF_INIT;
    const char *from, *to;
    step_ends(st, &parents, &from, &to);
    mig_progress_begin(r->ctx, st->upgrade ? "upgrade" : "downgrade", from, to, st->rev->message);
    mig_buf_release(&parents);
}

/* Offline nothing runs, so no progress line; --json still lists what was rendered. */
static void step_rendered(run *r, const mig_plan_step *st)
{
    mig_ctx *ctx = r->ctx;
    if (ctx->step_fn == NULL)
        return;
    mig_buf parents = MIG_BUF_INIT;
    const char *from, *to;
    step_ends(st, &parents, &from, &to);
    mig_step_report rep = { st->rev->id,
                            from,
                            st->upgrade ? "upgrade" : "downgrade",
                            st->rev->message ? st->rev->message : "",
                            0.0,
                            "rendered",
                            0,
                            ctx->tenant };
    ctx->step_fn(ctx->step_payload, &rep);
    mig_buf_release(&parents);
}

/* A step has ended: its line, and its record (open until its transaction commits). */
static int step_end(run *r, const mig_plan_step *st, double ms, int status)
{
    mig_progress_end(r->ctx, status == REC_FAILED);
    if (r->nrecs == r->cap_recs) {
        size_t cap = r->cap_recs ? r->cap_recs * 2 : 16;
        struct step_rec *n = realloc(r->recs, cap * sizeof *n);
        if (n == NULL)
            return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        r->recs = n;
        r->cap_recs = cap;
    }
    r->recs[r->nrecs++] =
        (struct step_rec){ st->rev, status == REC_OPEN ? st : NULL, st->upgrade, ms, status, r->attempts };
    if (status == REC_DONE && change_heads(&r->done_heads, st) < 0)
        return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    return 0;
}

/* The run's transaction committed: what ran in it is done. */
static int steps_committed(run *r)
{
    for (size_t i = 0; i < r->nrecs; i++)
        if (r->recs[i].status == REC_OPEN) {
            r->recs[i].status = REC_DONE;
            if (change_heads(&r->done_heads, r->recs[i].st) < 0)
                return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
            r->recs[i].st = NULL;
        }
    return 0;
}

static int apply_version_change(run *r, const mig_plan_step *st)
{
    mig_db *db = r->offline ? NULL : r->s.db;
    for (size_t i = 0; i < st->delete_heads.n; i++) {
        int rc = mig_state_delete_head(&r->s.st, r->ctx, db, &r->sql, st->delete_heads.v[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < st->insert_heads.n; i++) {
        int rc = mig_state_insert_head(&r->s.st, r->ctx, db, &r->sql, st->insert_heads.v[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Section text of a step. */
static void section(const mig_revbody *b, int upgrade, const char **text, size_t *len, int *line)
{
    if (upgrade) {
        *text = b->data + b->up_off;
        *len = b->up_len;
        *line = b->up_line;
    } else {
        *text = b->data + b->down_off;
        *len = b->down_len;
        *line = b->down_line;
    }
}

/* Statements of a section, as (offset, length) pairs, blanks skipped. */
typedef struct stmt_span {
    size_t off, len;
} stmt_span;

static int split(run *r, const char *text, size_t len, stmt_span **out, size_t *n)
{
    size_t cap = 16, k = 0, pos = 0;
    stmt_span *v = malloc(cap * sizeof *v);
    if (v == NULL)
        return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    while (pos < len) {
        int empty = 0;
        size_t l = mig_plugin_statement_end(r->s.plugin, text + pos, len - pos, &empty);
        if (l == 0)
            break;
        if (!empty) {
            if (k == cap) {
                stmt_span *nv = realloc(v, (cap *= 2) * sizeof *v);
                if (nv == NULL) {
                    free(v);
                    return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
                }
                v = nv;
            }
            v[k].off = pos;
            v[k].len = l;
            k++;
        }
        pos += l;
    }
    *out = v;
    *n = k;
    return 0;
}

/* How many statements a section holds: the history row says so however they were sent. */
static int count_statements(run *r, const char *text, size_t len, int64_t *out)
{
    stmt_span *sp = NULL;
    size_t n = 0;
    int rc = split(r, text, len, &sp, &n);
    free(sp);
    if (rc == 0)
        *out = (int64_t)n;
    return rc;
}

/*
 * SHA-256 of the first k statements, each followed by a NUL: resume refuses
 * if they changed. *fed counts the statements h holds already, so a step
 * feeds each statement once (hashing the whole prefix again after every
 * statement was quadratic: a 10 MB revision of 10,000 statements took
 * minutes of CPU on MySQL).
 */
static void prefix_hash_more(mig_sha256 *h, size_t *fed, const char *text, const stmt_span *sp, size_t k,
                             char out[65])
{
    for (; *fed < k; (*fed)++) {
        mig_sha256_feed(h, text + sp[*fed].off, sp[*fed].len);
        mig_sha256_feed(h, "", 1);
    }
    mig_sha256_peek_hex(h, out);
}

static void prefix_hash(const char *text, const stmt_span *sp, size_t k, char out[65])
{
    mig_sha256 *h = mig_sha256_new();
    size_t fed = 0;
    prefix_hash_more(h, &fed, text, sp, k, out);
    mig_sha256_free(h);
}

static void fill_hist(run *r, mig_hist *h, const mig_plan_step *st, const mig_revbody *b,
                      const char *started)
{
    (void)r;
    memset(h, 0, sizeof *h);
    h->revision = st->rev->id;
    h->direction = st->upgrade ? "upgrade" : "downgrade";
    h->checksum = b->checksum;
    h->started_at = started;
    h->applied_by = mig_state_applied_by();
    h->state = "done";
}

/* A step's version change, applied to a set of heads in memory. */
static int change_heads(mig_strvec *heads, const mig_plan_step *st)
{
    for (size_t i = 0; i < st->delete_heads.n; i++)
        for (size_t k = 0; k < heads->n; k++)
            if (strcmp(heads->v[k], st->delete_heads.v[i]) == 0) {
                mig_strvec_remove_at(heads, k);
                break;
            }
    for (size_t i = 0; i < st->insert_heads.n; i++)
        if (!mig_strvec_contains(heads, st->insert_heads.v[i]) &&
            mig_strvec_push(heads, st->insert_heads.v[i]) < 0)
            return MIG_ENOMEM;
    return 0;
}

static int defer_step(run *r, const mig_plan_step *st, const mig_revbody *b, const char *started,
                      int64_t duration_ms, int64_t nstmts)
{
    if (change_heads(&r->sim_heads, st) < 0)
        return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (r->ndh == r->cap_dh) {
        size_t cap = r->cap_dh ? r->cap_dh * 2 : 64;
        struct deferred_hist *n = realloc(r->dh, cap * sizeof *n);
        if (n == NULL)
            return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        r->dh = n;
        r->cap_dh = cap;
    }
    struct deferred_hist *d = &r->dh[r->ndh++];
    d->revision = st->rev->id;
    d->direction = st->upgrade ? "upgrade" : "downgrade";
    memcpy(d->checksum, b->checksum, sizeof d->checksum);
    memcpy(d->started, started, sizeof d->started);
    d->duration_ms = duration_ms;
    d->statements = nstmts;
    return 0;
}

/* Write what defer_step kept: the version table's difference, then the history rows. */
static int flush_state(run *r)
{
    mig_ctx *ctx = r->ctx;
    int rc = 0;
    if (!r->defer)
        return 0;
    for (size_t i = 0; rc == 0 && i < r->db_heads.n; i++)
        if (!mig_strvec_contains(&r->sim_heads, r->db_heads.v[i]))
            rc = mig_state_delete_head(&r->s.st, ctx, r->s.db, NULL, r->db_heads.v[i]);
    for (size_t i = 0; rc == 0 && i < r->sim_heads.n; i++)
        if (!mig_strvec_contains(&r->db_heads, r->sim_heads.v[i]))
            rc = mig_state_insert_head(&r->s.st, ctx, r->s.db, NULL, r->sim_heads.v[i]);
    mig_hist *h = rc == 0 && r->ndh ? malloc(r->ndh * sizeof *h) : NULL;
    if (rc == 0 && r->ndh && h == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (size_t i = 0; h && i < r->ndh; i++)
        h[i] = (mig_hist){ r->dh[i].revision,
                           r->dh[i].direction,
                           r->dh[i].checksum,
                           r->dh[i].started,
                           r->dh[i].duration_ms,
                           mig_state_applied_by(),
                           "done",
                           r->dh[i].statements,
                           NULL };
    if (h)
        rc = mig_state_insert_history_rows(&r->s.st, ctx, r->s.db, h, r->ndh);
    free(h);
    if (rc)
        return rc;
    r->ndh = 0;
    mig_strvec_release(&r->db_heads);
    for (size_t i = 0; i < r->sim_heads.n; i++)
        if (mig_strvec_push(&r->db_heads, r->sim_heads.v[i]) < 0)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    return 0;
}

/* Commit the run's transaction, with the state kept back until now. */
static int commit(run *r)
{
    int rc = flush_state(r);
    if (rc == 0)
        rc = mig_db_commit(r->s.db, r->ctx);
    return rc ? rc : steps_committed(r);
}

/*
 * Time limits and retries of a revision (`-- mig:lock_timeout`,
 * `-- mig:statement_timeout`, `-- mig:retries`, else [mig]
 * lock_timeout_ddl and lock_retries). The driver writes the SQL that sets
 * them and puts the session's values back (limits_sql); the same text runs
 * online and goes into --sql output. A driver that cannot tell a lock
 * timeout (is_lock_timeout) gets no retries.
 */
static void step_limits(const run *r, const mig_rev *rev, mig_limits *lim, int *retries)
{
    const mig_driver *t = r->s.plugin->driver;
    lim->lock_timeout_ms = rev->lock_timeout_ms >= 0 ? rev->lock_timeout_ms : r->cfg_lock_ms;
    lim->statement_timeout_ms = rev->statement_timeout_ms;
    lim->connect_wait_s = r->offline
                              ? (r->ctx->opts.lock_timeout >= 0 ? r->ctx->opts.lock_timeout : 300.0)
                              : r->s.db->wait_s;
    if (!MIG_DRIVER_HAS(t, limits_sql))
        lim->lock_timeout_ms = lim->statement_timeout_ms = -1;
    *retries = rev->retries >= 0 ? rev->retries : r->cfg_retries;
    if (!MIG_DRIVER_HAS(t, is_lock_timeout))
        *retries = 0;
}

static int has_limits(const mig_limits *lim)
{
    return lim->lock_timeout_ms >= 0 || lim->statement_timeout_ms >= 0;
}

typedef struct limits_emit {
    run *r;
    const mig_rev *rev;
} limits_emit;

/* One statement of ours around a revision: run, or written into the offline script. */
static int emit_around(void *payload, const char *sql)
{
    limits_emit *le = payload;
    run *r = le->r;
    if (r->offline) {
        mig_buf_printf(&r->sql, "%s;\n", sql);
        return 0;
    }
    int rc = mig_db_exec(r->s.db, r->ctx, sql, strlen(sql), NULL, NULL);
    if (rc) {
        char *m = mig_strdup(mig_last_error(r->ctx)->message);
        rc = mig_fail(r->ctx, rc, "revision %s: %s failed: %s", le->rev->id, sql, m ? m : "");
        mig_error_where(r->ctx, le->rev->path, 0);
        free(m);
    }
    return rc;
}

static int limits_apply(run *r, const mig_rev *rev, const mig_limits *lim, int restore)
{
    if (!has_limits(lim))
        return 0;
    limits_emit le = { r, rev };
    return mig_plugin_limits_sql(r->s.plugin, lim, restore, emit_around, &le);
}

/* The revision's savepoint: what a retry rolls back to. */
static int savepoint(run *r, const mig_rev *rev, const char *verb)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s mig_revision", verb);
    limits_emit le = { r, rev };
    return emit_around(&le, sql);
}

/* After a failure: the session's own limits again, keeping the failure's error. */
static void limits_restore_keeping_error(run *r, const mig_rev *rev, const mig_limits *lim)
{
    if (!has_limits(lim) || r->s.db->broken)
        return;
    mig_error_state saved;
    mig_error_save(r->ctx, &saved);
    (void)limits_apply(r, rev, lim, 1); /* the revision's failure is the one to report */
    mig_error_restore(r->ctx, &saved);
}

/*
 * Before attempt `next` of `attempts`: say why and wait, longer each time
 * (0.5 s, 1 s, 2 s, ... up to 8 s), so the holder of the lock can finish
 * and the queue behind our timed-out statement drains.
 */
static void retry_pause(run *r, const mig_rev *rev, int next, int attempts)
{
    mig_ctx *ctx = r->ctx;
    double wait_s = 0.5 * (double)(1 << (next - 2 < 4 ? next - 2 : 4));
    mig_log(ctx, MIG_LOG_WARN,
            "%s%s%sretrying revision %s in %.1f s (attempt %d of %d) after a lock timeout: %s",
            ctx->tenant ? "tenant " : "", ctx->tenant ? ctx->tenant : "", ctx->tenant ? ": " : "",
            rev->id, wait_s, next, attempts, mig_last_error(ctx)->message);
    mig_error_clear(ctx);
    struct timespec ts;
    ts.tv_sec = (time_t)wait_s;
    ts.tv_nsec = (long)((wait_s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* The section, online: in one call where the driver takes several statements. */
static int run_body(run *r, const mig_plan_step *st, const char *text, size_t len, int line,
                    int64_t *nstmts)
{
    mig_ctx *ctx = r->ctx;
    if (st->rev->is_lua)
        return mig_lua_revision_run(r->lua, st->rev, st->upgrade);
    if (r->s.plugin->driver->caps & MIG_CAP_MULTI_STATEMENT) {
        if (mig_sql_is_blank(r->s.plugin->driver->dialect, text, len))
            return 0;
        mig_drv_error de;
        int rc = mig_event_statement(ctx, text, len);
        if (rc)
            return rc;
        rc = mig_db_exec_counted(r->s.db, ctx, text, len, nstmts, &de);
        if (rc)
            return revision_error(r, st->rev, text, len, line, &de);
        return *nstmts >= 0 ? 0 : count_statements(r, text, len, nstmts);
    }
    stmt_span *sp = NULL;
    size_t n = 0;
    int rc = split(r, text, len, &sp, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        mig_drv_error de;
        if ((rc = mig_event_statement(ctx, text + sp[i].off, sp[i].len)) != 0)
            break;
        rc = mig_db_exec(r->s.db, ctx, text + sp[i].off, sp[i].len, NULL, &de);
        if (rc) {
            shift_error(&de, text, sp[i].off);
            rc = revision_error(r, st->rev, text, len, line, &de);
        }
    }
    *nstmts = (int64_t)n;
    free(sp);
    return rc;
}

/*
 * A step inside the run's transaction: the section in one call (one round
 * trip where the driver takes several statements), then its version change
 * and history row.
 */
static int run_atomic_step(run *r, const mig_plan_step *st, const mig_revbody *b)
{
    mig_ctx *ctx = r->ctx;
    const char *text;
    size_t len;
    int line;
    section(b, st->upgrade, &text, &len, &line);
    char started[40];
    mig_state_now(&r->s.st, started);
    double t0 = now_ms();
    int64_t nstmts = 0;
    if (!r->offline) {
        int hrc = mig_lua_hooks_call(r->lua, "before_each", st->rev, st->upgrade);
        if (hrc)
            return hrc;
    }
    mig_limits lim;
    int retries;
    step_limits(r, st->rev, &lim, &retries);
    int in_txn = r->offline ? r->transactional_ddl && st->rev->transactional : r->s.db->in_txn;
    /*
     * Where DDL is transactional and a lock timeout can be told, the
     * revision runs from a savepoint: a retry rolls back to it, keeping
     * what earlier revisions of the transaction did. Elsewhere (a Lua
     * revision outside a transaction, or on MySQL) nobody can tell what it
     * had done, so it is not retried.
     */
    int use_sp = in_txn && r->transactional_ddl && MIG_DRIVER_HAS(r->s.plugin->driver, is_lock_timeout) &&
                 (has_limits(&lim) || retries > 0);
    int attempts = use_sp ? 1 + retries : 1;
    if (r->offline) {
        if (!mig_sql_is_blank(r->s.plugin->driver->dialect, text, len)) {
            mig_buf_printf(&r->sql, "-- %s %s: %s\n", st->upgrade ? "upgrade" : "downgrade", st->rev->id,
                           st->rev->message ? st->rev->message : "");
            if (retries > 0)
                mig_buf_printf(&r->sql,
                               "-- revision %s is retried up to %d time(s) on a lock timeout when mig "
                               "runs it; a script cannot retry: a lock timeout here fails it\n",
                               st->rev->id, retries);
            int src = use_sp ? savepoint(r, st->rev, "SAVEPOINT") : 0;
            if (src == 0)
                src = limits_apply(r, st->rev, &lim, 0);
            if (src)
                return src;
            mig_buf_put(&r->sql, text, len);
            /* make sure the section ends its last statement */
            size_t e = len;
            while (e > 0 && (text[e - 1] == '\n' || text[e - 1] == ' ' || text[e - 1] == '\t' ||
                             text[e - 1] == '\r'))
                e--;
            if (e > 0 && text[e - 1] != ';')
                mig_buf_puts(&r->sql, "\n;");
            mig_buf_putc(&r->sql, '\n');
            int crc = count_statements(r, text, len, &nstmts);
            if (crc == 0)
                crc = limits_apply(r, st->rev, &lim, 1);
            if (crc == 0 && use_sp)
                crc = savepoint(r, st->rev, "RELEASE SAVEPOINT");
            if (crc)
                return crc;
        }
    } else {
        for (int attempt = 1;; attempt++) {
            unsigned timeouts = r->s.db->lock_timeouts;
            int brc = use_sp ? savepoint(r, st->rev, "SAVEPOINT") : 0;
            int set = 0;
            if (brc == 0 && (brc = limits_apply(r, st->rev, &lim, 0)) == 0)
                set = 1;
            if (brc == 0)
                brc = run_body(r, st, text, len, line, &nstmts);
            if (brc == 0)
                brc = limits_apply(r, st->rev, &lim, 1);
            if (brc == 0 && use_sp)
                brc = savepoint(r, st->rev, "RELEASE SAVEPOINT");
            if (brc == 0)
                break;
            if (attempt >= attempts || r->s.db->lock_timeouts == timeouts || r->s.db->broken) {
                /* a rollback to come undoes the limits with the rest, except where SET is no part of it */
                if (set && !use_sp)
                    limits_restore_keeping_error(r, st->rev, &lim);
                return brc;
            }
            retry_pause(r, st->rev, attempt + 1, attempts);
            r->attempts = attempt + 1;
            /* back to the revision's start; the savepoint goes too, the next attempt takes its own */
            brc = savepoint(r, st->rev, "ROLLBACK TO SAVEPOINT");
            if (brc == 0)
                brc = savepoint(r, st->rev, "RELEASE SAVEPOINT");
            if (brc)
                return brc;
            /* the history row is the final attempt's */
            mig_state_now(&r->s.st, started);
            t0 = now_ms();
            nstmts = 0;
        }
    }
    int rc;
    if (r->defer && !r->offline) {
        rc = defer_step(r, st, b, started, (int64_t)(now_ms() - t0), nstmts);
    } else {
        rc = apply_version_change(r, st);
        if (rc)
            return rc;
        mig_hist h;
        fill_hist(r, &h, st, b, started);
        h.duration_ms = (int64_t)(now_ms() - t0);
        h.statements_applied = nstmts;
        rc = mig_state_insert_history(&r->s.st, ctx, r->offline ? NULL : r->s.db, &r->sql, &h);
    }
    if (rc == 0 && !r->offline)
        rc = mig_lua_hooks_call(r->lua, "after_each", st->rev, st->upgrade);
    if (rc == 0 && r->offline)
        step_rendered(r, st);
    return rc;
}

/*
 * The first word of a statement, upper-cased into out (at most 15
 * characters), after blanks and comments; "" when it starts otherwise (a
 * MySQL comment that runs, opened with slash, star and bang, say).
 */
static void first_word(const char *s, size_t n, char out[16])
{
    size_t i = 0, k = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (i + 1 < n && ((s[i] == '-' && s[i + 1] == '-') || s[i] == '#')) {
            while (i < n && s[i] != '\n')
                i++;
        } else if (i + 2 < n && s[i] == '/' && s[i + 1] == '*' && s[i + 2] != '!') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i += 2;
        } else {
            break;
        }
    }
    while (i < n && k < 15 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        out[k++] = (char)(s[i++] & ~0x20);
    out[k] = '\0';
}

static int word_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(w, *list) == 0)
            return 1;
    return 0;
}

/*
 * Which statements may run in one transaction with their progress record:
 * on a driver without transactional DDL, in a revision not marked
 * `transaction false`, the plain DML statements, and only when every
 * statement of the revision is plain DDL or DML. A revision that manages
 * transactions itself (START TRANSACTION, COMMIT, SET autocommit, LOCK
 * TABLES, a procedure call, ...) keeps running statement by statement as
 * written, since a transaction of ours would end one of its own.
 * together[i] is set for statement i.
 */
static void plan_together(run *r, const mig_plan_step *st, const char *text, const stmt_span *sp,
                          size_t n, unsigned char *together)
{
    static const char *const dml[] = { "INSERT", "UPDATE", "DELETE", "REPLACE", NULL };
    static const char *const ddl[] = { "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", NULL };
    memset(together, 0, n);
    if (r->transactional_ddl || !st->rev->transactional)
        return;
    for (size_t i = 0; i < n; i++) {
        char w[16];
        first_word(text + sp[i].off, sp[i].len, w);
        if (word_in(w, dml))
            together[i] = 1;
        else if (!word_in(w, ddl)) {
            memset(together, 0, n);
            return;
        }
    }
}

/* Undo a statement's transaction after it failed, keeping the failure's error. */
static void rollback_keeping_error(run *r)
{
    mig_error_state saved;
    mig_error_save(r->ctx, &saved);
    (void)mig_db_rollback(r->s.db, r->ctx);
    mig_error_restore(r->ctx, &saved);
}

/*
 * run_stepwise where what one round trip sends runs on the server to its
 * end whatever becomes of mig (MIG_CAP_SERVER_BATCH). Each statement
 * travels with the record of its progress, so a kill -9 while a statement
 * runs cannot part the two: the server applies the statement, then the
 * record. The plain DML statements at the end of the revision travel in
 * one transaction with the version change and the done mark, and so does
 * the statement before them, whose record the done mark is: one commit
 * per revision less than a record of its own. That transaction also
 * writes the history row of the next step when it runs this way too, so
 * that row is written before its step's first statement without a commit
 * of its own. Plain DML statements before the last other statement run in
 * one transaction with their record, as in run_stepwise.
 */

/* How to go on after a statement-by-statement step failed with `applied` of n statements run. */
static void hint_part_way(mig_ctx *ctx, const mig_rev *rev, size_t applied, size_t n)
{
    if (applied == 0) /* nothing of it applied: no part-way state, the same command runs it again */
        mig_error_hint(ctx,
                       "revision %s applied none of its statements; fix the cause and run the "
                       "same command again",
                       rev->id);
    else
        mig_error_hint(ctx,
                       "%zu of %zu statements of revision %s were applied; fix the cause, then "
                       "run `mig upgrade --resume` to continue at statement %zu, or apply it by "
                       "hand and run `mig stamp`",
                       applied, n, rev->id, applied + 1);
}

/* Append statement i of the section to a round trip, ';'-terminated; at[i] says where. */
static void pack_statement(mig_buf *pk, const char *text, const stmt_span *sp, size_t i, size_t *at)
{
    at[i] = pk->len;
    mig_buf_put(pk, text + sp[i].off, sp[i].len);
    /*
     * The splitter ends a statement right after its ';'; the last one may
     * have none, and end in a comment (whose ';' ends nothing) and blanks.
     */
    mig_buf_puts(pk, sp[i].len > 0 && text[sp[i].off + sp[i].len - 1] == ';' ? "\n" : "\n;\n");
}

/*
 * Which statement of [a, b) a round trip's error is in, -1 when it is in
 * our own statements; the error is then moved to where that statement
 * sits in the section.
 */
static long packed_culprit(mig_drv_error *de, const mig_buf *pk, const char *text, const stmt_span *sp,
                           size_t a, size_t b, const size_t *at)
{
    for (size_t k = a; k < b; k++) {
        if (de->stmt_offset < at[k] || de->stmt_offset >= at[k] + sp[k].len)
            continue;
        de->stmt_offset -= at[k];
        if (de->position > 0) {
            long chars = 0;
            for (size_t i = 0; i < at[k]; i++)
                chars += ((unsigned char)pk->ptr[i] & 0xC0) != 0x80;
            de->position = de->position > chars ? de->position - chars : 0;
        }
        shift_error(de, text, sp[k].off);
        return (long)k;
    }
    return -1;
}

/* The next step of the plan, when it too runs this way: its history row goes with our last commit. */
static const mig_plan_step *packed_next(const run *r, const mig_revbody **body)
{
    size_t i = r->step_i + 1;
    if (r->plan == NULL || i >= r->plan->nsteps)
        return NULL;
    const mig_plan_step *nx = &r->plan->steps[i];
    if (nx->rev->is_lua || (r->transactional_ddl && nx->rev->transactional))
        return NULL;
    *body = &r->bodies[i];
    return nx;
}

static const char sha256_empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* A revision run_packed sends: its section, split, and the round trip being built. */
typedef struct packed {
    run *r;
    const mig_plan_step *st;
    const char *text;
    size_t len, n;
    size_t tail; /* [tail, n): the plain DML statements that commit with the version change */
    int line;
    stmt_span *sp;
    unsigned char *together;
    size_t *at;
    char started[40];
    double t0;
    mig_hist h;
    char hash[65], hash_tail[65];
    mig_sha256 *ph;
    size_t fed;
    mig_buf pk;
    const mig_plan_step *nx; /* the next step, whose history row the last round trip writes */
} packed;

static void packed_release(packed *p)
{
    mig_buf_release(&p->pk);
    mig_sha256_free(p->ph);
    free(p->sp);
    free(p->together);
    free(p->at);
}

/* The statements of round trip [i, *j) into p->pk, with their record; the last one also ends the step. */
static int packed_build(packed *p, size_t i, int last, size_t *j, int *txn)
{
    run *r = p->r;
    mig_ctx *ctx = r->ctx;
    const mig_dialect *d = r->s.plugin->driver->dialect;
    const mig_plan_step *st = p->st;
    int rc = 0;
    *j = i + 1;
    *txn = 0;
    mig_buf_clear(&p->pk);
    if (last) {
        size_t from = p->tail > i ? p->tail : i;
        *j = p->n;
        if (i < p->tail)
            pack_statement(&p->pk, p->text, p->sp, i, p->at);
        mig_buf_printf(&p->pk, "%s;\n", d->begin_sql);
        *txn = 1;
        for (size_t k = from; k < p->n; k++)
            pack_statement(&p->pk, p->text, p->sp, k, p->at);
        prefix_hash_more(p->ph, &p->fed, p->text, p->sp, from, p->hash_tail);
        prefix_hash_more(p->ph, &p->fed, p->text, p->sp, p->n, p->hash);
        for (size_t k = 0; k < st->delete_heads.n && rc == 0; k++)
            rc = mig_state_delete_head(&r->s.st, ctx, NULL, &p->pk, st->delete_heads.v[k]);
        for (size_t k = 0; k < st->insert_heads.n && rc == 0; k++)
            rc = mig_state_insert_head(&r->s.st, ctx, NULL, &p->pk, st->insert_heads.v[k]);
        p->h.state = "done";
    } else if (p->together[i]) {
        while (*j < p->tail - 1 && p->together[*j])
            (*j)++;
        mig_buf_printf(&p->pk, "%s;\n", d->begin_sql);
        *txn = 1;
        for (size_t k = i; k < *j; k++)
            pack_statement(&p->pk, p->text, p->sp, k, p->at);
        prefix_hash_more(p->ph, &p->fed, p->text, p->sp, *j, p->hash);
    } else {
        pack_statement(&p->pk, p->text, p->sp, i, p->at);
        prefix_hash_more(p->ph, &p->fed, p->text, p->sp, *j, p->hash);
    }
    p->h.statements_applied = (int64_t)*j;
    p->h.duration_ms = (int64_t)(now_ms() - p->t0);
    if (rc == 0)
        rc = mig_state_update_progress_text(&r->s.st, ctx, r->s.db, &p->pk, &p->h);
    const mig_revbody *nb = NULL;
    p->nx = NULL;
    if (rc == 0 && last && (p->nx = packed_next(r, &nb)) != NULL) {
        mig_hist nh;
        char nstarted[40];
        mig_state_now(&r->s.st, nstarted);
        fill_hist(r, &nh, p->nx, nb, nstarted);
        nh.state = "failed";
        nh.applied_hash = sha256_empty; /* of no statement */
        if ((rc = mig_state_insert_history_text(&r->s.st, ctx, r->s.db, &p->pk, &nh)) ==
            MIG_STATE_NOT_INLINABLE) {
            rc = 0;
            p->nx = NULL;
        }
    }
    if (rc == 0 && *txn)
        mig_buf_printf(&p->pk, "%s;\n", d->commit_sql);
    if (rc == 0 && p->pk.oom)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    return rc;
}

/*
 * Round trip [i, j) failed: it stopped at the failing statement, nothing
 * after it ran. Record what it applied and say so; *applied and *culprit
 * (-1: one of our own statements) tell the caller whether to retry.
 */
static int packed_failed(packed *p, mig_drv_error *de, size_t i, size_t j, int last, int txn,
                         size_t *applied, long *culprit)
{
    run *r = p->r;
    mig_ctx *ctx = r->ctx;
    long k = packed_culprit(de, &p->pk, p->text, p->sp, i, j, p->at);
    *culprit = k;
    *applied = i;
    if (!txn && k < 0)
        *applied = j; /* the statement ran, its record did not */
    else if (last && i < p->tail && (k < 0 || (size_t)k > i))
        *applied = i + 1; /* the statement before the transaction ran */
    if (txn && !r->s.db->broken)
        rollback_keeping_error(r);
    if (*applied > i && !r->s.db->broken) {
        /* its record, on its own now; the round trip's error is the one to report */
        mig_error_state saved;
        mig_error_save(ctx, &saved);
        p->h.state = "failed";
        p->h.statements_applied = (int64_t)*applied;
        p->h.applied_hash = *applied == p->tail && last ? p->hash_tail : p->hash;
        (void)mig_state_update_progress(&r->s.st, ctx, r->s.db, &p->h);
        (void)mig_error_restore(ctx, &saved);
    }
    if (k < 0)
        return mig_last_error(ctx)->code ? mig_last_error(ctx)->code : MIG_EFAIL;
    int rc = revision_error(r, p->st->rev, p->text, p->len, p->line, de);
    hint_part_way(ctx, p->st->rev, *applied, p->n);
    return rc;
}

/* The section split, and the step's history row as it stands before the first round trip. */
static int packed_open(packed *p, run *r, const mig_plan_step *st, const mig_revbody *b, int64_t start_at)
{
    mig_ctx *ctx = r->ctx;
    memset(p, 0, sizeof *p);
    p->r = r;
    p->st = st;
    p->pk = (mig_buf)MIG_BUF_INIT;
    section(b, st->upgrade, &p->text, &p->len, &p->line);
    int rc = split(r, p->text, p->len, &p->sp, &p->n);
    size_t n = p->n;
    if (rc == 0 &&
        ((p->together = malloc(n ? n : 1)) == NULL || (p->at = calloc(n ? n : 1, sizeof *p->at)) == NULL))
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc)
        return rc;
    plan_together(r, st, p->text, p->sp, n, p->together);
    p->tail = n;
    while (p->tail > (size_t)start_at && p->together[p->tail - 1])
        p->tail--;
    mig_state_now(&r->s.st, p->started);
    p->t0 = now_ms();
    fill_hist(r, &p->h, st, b, p->started);
    p->ph = mig_sha256_new();
    prefix_hash_more(p->ph, &p->fed, p->text, p->sp, (size_t)start_at, p->hash);
    p->h.state = "failed";
    p->h.statements_applied = start_at;
    p->h.applied_hash = p->hash;
    /* a value that cannot travel inlined: before anything ran, the caller runs the step as usual */
    return mig_state_update_progress_text(&r->s.st, ctx, r->s.db, &p->pk, &p->h);
}

static int run_packed(run *r, const mig_plan_step *st, const mig_revbody *b, int64_t start_at)
{
    mig_ctx *ctx = r->ctx;
    packed p;
    int rc = packed_open(&p, r, st, b, start_at);
    if (rc) {
        packed_release(&p);
        return rc;
    }
    /* a resumed step has its row, and so has one whose row the step before wrote */
    if (start_at == 0 && r->row_for != st->rev)
        rc = mig_state_insert_history(&r->s.st, ctx, r->s.db, NULL, &p.h);
    r->row_for = NULL;
    mig_limits lim;
    int retries, attempt = 1, limits_set = 0;
    step_limits(r, st->rev, &lim, &retries);
    if (rc == 0 && (rc = limits_apply(r, st->rev, &lim, 0)) == 0)
        limits_set = 1;
    size_t i = (size_t)start_at;
    while (rc == 0 && (i < p.n || i == (size_t)start_at)) {
        size_t j;
        int last = i + 1 >= p.tail, txn;
        rc = packed_build(&p, i, last, &j, &txn);
        /* the round trip's statements as one event, and where a cancel request stops the run */
        if (rc == 0 && i < p.n)
            rc = mig_event_statement(ctx, p.text + p.sp[i].off,
                                     p.sp[j - 1].off + p.sp[j - 1].len - p.sp[i].off);
        if (rc)
            break;
        mig_drv_error de;
        memset(&de, 0, sizeof de);
        unsigned timeouts = r->s.db->lock_timeouts;
        if (mig_db_exec(r->s.db, ctx, p.pk.ptr, p.pk.len, NULL, &de) == 0) {
            if (last && p.nx)
                r->row_for = p.nx->rev;
            i = j;
            if (last)
                break;
            continue;
        }
        size_t applied;
        long k;
        rc = packed_failed(&p, &de, i, j, last, txn, &applied, &k);
        if (applied == 0 && k == (long)i && attempt <= retries && r->s.db->lock_timeouts != timeouts &&
            !r->s.db->broken) {
            retry_pause(r, st->rev, ++attempt, retries + 1);
            r->attempts = attempt;
            rc = 0;
            p.fed = 0;
            mig_sha256_free(p.ph);
            p.ph = mig_sha256_new();
            p.h.state = "failed";
            continue;
        }
        r->fail_stepwise = 1;
        r->fail_applied = applied;
        r->fail_total = p.n;
    }
    packed_release(&p);
    if (limits_set) {
        if (rc)
            limits_restore_keeping_error(r, st->rev, &lim);
        else
            rc = limits_apply(r, st->rev, &lim, 1);
    }
    return rc;
}

/* A statement-by-statement step's end: the version change and the done mark commit together where DML is transactional. */
static int stepwise_finish(run *r, const mig_plan_step *st, mig_hist *h, double t0)
{
    mig_ctx *ctx = r->ctx;
    int rc = 0;
    if (!r->s.db->in_txn)
        rc = mig_db_begin(r->s.db, ctx, 1);
    if (rc == 0)
        rc = apply_version_change(r, st);
    if (rc == 0) {
        h->state = "done";
        h->duration_ms = (int64_t)(now_ms() - t0);
        rc = mig_state_update_progress(&r->s.st, ctx, r->s.db, h);
    }
    if (rc == 0)
        rc = mig_lua_hooks_call(r->lua, "after_each", st->rev, st->upgrade);
    if (rc == 0)
        rc = mig_db_commit(r->s.db, ctx);
    return rc;
}

/*
 * A step outside any transaction, statement by statement. Its history row
 * says how far it got: written as `failed` with 0 applied before its first
 * statement runs, and moved forward after each statement, so a crash, a
 * kill or a lost connection at any point leaves a record of exactly how
 * far it got. (A row saying "0 applied" blocks nothing, see
 * mig_state_find_failed.) Writing it first matters: a row that cannot be
 * written (a value too long for its column, a full disk) then fails the
 * step before anything is applied, never after a statement that nothing
 * records. One write per revision more, not per statement. A plain DML
 * statement commits in one transaction with its record -- one commit where
 * two would do less: the statement and the record can no longer part --
 * and a last one with the version change and the done mark.
 */
static int run_stepwise(run *r, const mig_plan_step *st, const mig_revbody *b, int64_t start_at)
{
    /* hooks run between our statements, where a round trip would not wait for them */
    if ((r->s.plugin->driver->caps & MIG_CAP_SERVER_BATCH) &&
        (r->lua == NULL || r->lua->hook_paths.n == 0)) {
        int prc = run_packed(r, st, b, start_at);
        if (prc != MIG_STATE_NOT_INLINABLE)
            return prc;
    }
    r->row_for = NULL;
    mig_ctx *ctx = r->ctx;
    const char *text;
    size_t len;
    int line;
    section(b, st->upgrade, &text, &len, &line);
    stmt_span *sp = NULL;
    unsigned char *together = NULL;
    size_t n = 0;
    int rc = mig_lua_hooks_call(r->lua, "before_each", st->rev, st->upgrade);
    if (rc == 0)
        rc = split(r, text, len, &sp, &n);
    if (rc == 0 && (together = malloc(n ? n : 1)) == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc) {
        free(sp);
        free(together); /* NULL here; said for the analysers */
        return rc;
    }
    plan_together(r, st, text, sp, n, together);
    char started[40];
    mig_state_now(&r->s.st, started);
    double t0 = now_ms();
    mig_hist h;
    fill_hist(r, &h, st, b, started);
    char hash[65];
    mig_sha256 *ph = mig_sha256_new();
    size_t fed = 0;
    prefix_hash_more(ph, &fed, text, sp, (size_t)start_at, hash);
    h.state = "failed";
    h.statements_applied = start_at;
    h.applied_hash = hash;
    /* a resumed step has its row */
    if (start_at == 0)
        rc = mig_state_insert_history(&r->s.st, ctx, r->s.db, NULL, &h);
    /*
     * Its limits hold for its statements, not for the history row. A
     * lock timeout on its first statement is retried: nothing of the
     * revision had applied, so running it again is running it once.
     */
    mig_limits lim;
    int retries, attempt = 1, limits_set = 0;
    step_limits(r, st->rev, &lim, &retries);
    if (rc == 0 && (rc = limits_apply(r, st->rev, &lim, 0)) == 0)
        limits_set = 1;
    for (size_t i = (size_t)start_at; rc == 0 && i < n; i++) {
        mig_drv_error de;
        memset(&de, 0, sizeof de);
        unsigned timeouts = r->s.db->lock_timeouts;
        if (together[i])
            rc = mig_db_begin(r->s.db, ctx, 1);
        int crc = rc ? 0 : mig_event_statement(ctx, text + sp[i].off, sp[i].len); /* cancelled: i applied */
        int erc = rc || crc ? rc : mig_db_exec(r->s.db, ctx, text + sp[i].off, sp[i].len, NULL, &de);
        if (rc == 0 && erc) {
            shift_error(&de, text, sp[i].off);
            rc = revision_error(r, st->rev, text, len, line, &de);
            hint_part_way(ctx, st->rev, i, n);
        }
        if (crc)
            rc = crc;
        if (rc) {
            if (r->s.db->in_txn)
                rollback_keeping_error(r);
            if (i == 0 && attempt <= retries && r->s.db->lock_timeouts != timeouts && !r->s.db->broken) {
                retry_pause(r, st->rev, ++attempt, retries + 1);
                r->attempts = attempt;
                rc = 0;
                i--; /* the same statement again: the loop's i++ wraps back to 0 */
                continue;
            }
            r->fail_stepwise = 1;
            r->fail_applied = i;
            r->fail_total = n;
            break;
        }
        prefix_hash_more(ph, &fed, text, sp, i + 1, hash);
        h.statements_applied = (int64_t)(i + 1);
        h.duration_ms = (int64_t)(now_ms() - t0);
        if (together[i] && i + 1 == n)
            break; /* the last one commits with the version change and the done mark */
        rc = mig_state_update_progress(&r->s.st, ctx, r->s.db, &h);
        if (rc == 0 && r->s.db->in_txn)
            rc = mig_db_commit(r->s.db, ctx);
        else if (rc && r->s.db->in_txn)
            rollback_keeping_error(r);
    }
    free(sp);
    free(together);
    mig_sha256_free(ph);
    if (limits_set) {
        if (rc)
            limits_restore_keeping_error(r, st->rev, &lim);
        else
            rc = limits_apply(r, st->rev, &lim, 1);
    }
    return rc ? rc : stepwise_finish(r, st, &h, t0);
}

static void emit_text(mig_ctx *ctx, const mig_buf *b)
{
    if (ctx->sql_fn)
        ctx->sql_fn(ctx->sql_payload, mig_buf_cstr(b));
    else
        fputs(mig_buf_cstr(b), stdout);
}

static int emit_offline(run *r)
{
    emit_text(r->ctx, &r->sql);
    return r->sql.oom ? mig_fail(r->ctx, MIG_ENOMEM, "out of memory") : 0;
}

static int same_set(const mig_strvec *a, const mig_strvec *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!mig_strvec_contains(b, a->v[i]))
            return 0;
    return 1;
}

/*
 * Where the write transaction is the lock (SQLite), committing between
 * revisions (transaction_per_migration, a `transaction false` revision)
 * lets another run in. Having taken the lock again, read the version
 * table: if it moved, the rest of our plan is stale and must be made
 * again from what is there now, or revisions would run twice.
 */
static int moved_meanwhile(run *r)
{
    if (r->s.plugin->driver->caps & MIG_CAP_SESSION_LOCK)
        return 0;
    mig_strvec now = MIG_STRVEC_INIT;
    int rc = mig_state_read_heads(&r->s.st, r->ctx, r->s.db, &now);
    if (rc == 0 && !same_set(&now, &r->heads)) {
        mig_log(r->ctx, MIG_LOG_VERBOSE, "another run moved the version table: planning again");
        rc = REPLAN;
    }
    mig_strvec_release(&now);
    return rc;
}

/* A downgrade that undoes nothing (rule MIG001) says so as it runs. */
static void warn_empty_downgrade(run *r, const mig_plan_step *st, const mig_revbody *b)
{
    mig_ctx *ctx = r->ctx;
    if (!mig_rule_empty_downgrade_hits(st->rev, b, r->s.plugin->driver->dialect))
        return;
    mig_buf w = MIG_BUF_INIT;
    if (ctx->tenant)
        mig_buf_printf(&w, "tenant %s: ", ctx->tenant);
    mig_buf_printf(&w, "warning: %s %s: ", mig_rule_empty_downgrade.id, mig_rule_empty_downgrade.name);
    mig_rule_empty_downgrade_say(&w, st->rev);
    mig_log(ctx, MIG_LOG_WARN, "%s: nothing was undone", mig_buf_cstr(&w));
    mig_buf_release(&w);
}

/*
 * Before a plan's first step: whether the run keeps its state changes back
 * until its commit (and the heads they start from), the offline script's
 * BEGIN, and the before_migrate hooks (once per run, not per re-plan).
 */
static int start_plan(run *r, int *in_txn)
{
    r->defer = !r->offline && r->transactional_ddl && !r->per_migration;
    mig_strvec_release(&r->db_heads);
    mig_strvec_release(&r->sim_heads);
    for (size_t i = 0; r->defer && i < r->heads.n; i++)
        if (mig_strvec_push(&r->db_heads, r->heads.v[i]) < 0 ||
            mig_strvec_push(&r->sim_heads, r->heads.v[i]) < 0)
            return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (r->offline && r->transactional_ddl) {
        mig_buf_printf(&r->sql, "%s;\n", r->s.plugin->driver->dialect->begin_sql);
        *in_txn = 1;
    }
    if (!r->offline && r->plan->nsteps && !r->hooks_started) {
        r->hooks_started = 1;
        return mig_lua_hooks_call(r->lua, "before_migrate", NULL, r->plan->steps[0].upgrade);
    }
    return 0;
}

static int run_plan(run *r, int64_t resume_at)
{
    mig_ctx *ctx = r->ctx;
    const mig_dialect *d = r->s.plugin->driver->dialect;
    int in_txn = r->offline ? 0 : r->s.db->in_txn;
    int rc0 = start_plan(r, &in_txn);
    if (rc0)
        return rc0;
    for (size_t i = 0; i < r->plan->nsteps; i++) {
        const mig_plan_step *st = &r->plan->steps[i];
        /* a Lua revision is one step: in the run's transaction, or in none when marked so */
        int stepwise = !st->rev->is_lua && (!r->transactional_ddl || !st->rev->transactional);
        int lua_no_txn = st->rev->is_lua && !st->rev->transactional;
        int rc;
        /* what the step's success means for it: done once committed */
        int done_status = REC_OPEN;
        int ended = 0;
        double t0 = 0; /* set as the step begins, in each branch */
        r->cur_rev = st->rev;
        r->attempts = 1;
        if (lua_no_txn && !r->offline) {
            done_status = REC_DONE;
            if (in_txn) {
                if ((rc = commit(r)) != 0)
                    return rc;
                in_txn = 0;
            }
            /* on its own: its version change is written now, not kept back */
            int defer = r->defer;
            r->defer = 0;
            t0 = now_ms();
            step_begin(r, st);
            rc = run_atomic_step(r, st, &r->bodies[i]);
            r->defer = defer;
            if (rc == 0 && defer &&
                (change_heads(&r->sim_heads, st) < 0 || change_heads(&r->db_heads, st) < 0))
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        } else if (stepwise && !r->offline) {
            if (in_txn) {
                /* what ran before it is committed first */
                if ((rc = commit(r)) != 0)
                    return rc;
                in_txn = 0;
            }
            done_status = REC_DONE;
            t0 = now_ms();
            step_begin(r, st);
            r->step_i = i;
            rc = run_stepwise(r, st, &r->bodies[i], i == 0 ? resume_at : 0);
            /* it wrote its own version change: keep the kept-back view in step */
            if (rc == 0 && r->defer &&
                (change_heads(&r->sim_heads, st) < 0 || change_heads(&r->db_heads, st) < 0))
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        } else {
            if (r->offline && stepwise && in_txn) {
                mig_buf_printf(&r->sql, "%s;\n", d->commit_sql);
                in_txn = 0;
            }
            if (!in_txn && !stepwise) {
                if (r->offline)
                    mig_buf_printf(&r->sql, "%s;\n", d->begin_sql);
                else if ((rc = begin(r)) != 0)
                    return rc;
                in_txn = 1;
                if (!r->offline && (rc = moved_meanwhile(r)) != 0)
                    return rc;
            }
            t0 = now_ms();
            if (!r->offline)
                step_begin(r, st);
            rc = run_atomic_step(r, st, &r->bodies[i]);
            if (rc == 0 && in_txn && r->per_migration) {
                if (r->offline)
                    mig_buf_printf(&r->sql, "%s;\n", d->commit_sql);
                else {
                    /* the step's record first, so the commit makes it done */
                    rc = step_end(r, st, now_ms() - t0, REC_OPEN);
                    ended = 1;
                    if (rc == 0)
                        rc = commit(r);
                }
                in_txn = 0;
            }
        }
        if (rc) {
            if (!r->offline && !ended && ctx->prog.active) {
                int erc = step_end(r, st, now_ms() - t0, REC_FAILED);
                (void)erc; /* the step's own error is the one to report */
            }
            return rc;
        }
        if (!r->offline && !ended && (rc = step_end(r, st, now_ms() - t0, done_status)) != 0)
            return rc;
        if (!r->offline && !st->upgrade)
            warn_empty_downgrade(r, st, &r->bodies[i]);
        r->steps_applied++;
        if (change_heads(&r->heads, st) < 0)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    r->cur_rev = NULL;
    if (!r->offline && r->plan->nsteps) {
        int rc = mig_lua_hooks_call(r->lua, "after_migrate", NULL, r->plan->steps[0].upgrade);
        if (rc)
            return rc;
    }
    if (in_txn) {
        if (r->offline)
            mig_buf_printf(&r->sql, "%s;\n", d->commit_sql);
        else
            return commit(r);
    }
    return 0;
}

static void join_heads(mig_buf *b, const mig_strvec *heads)
{
    mig_buf_clear(b);
    for (size_t i = 0; i < heads->n; i++)
        mig_buf_printf(b, "%s%s", i ? " " : "", heads->v[i]);
}

static int is_head_target(const char *t)
{
    return strcmp(t, "head") == 0 || strcmp(t, "heads") == 0;
}

static int config_flags(run *r)
{
    mig_ctx *ctx = r->ctx;
    int per = 0;
    int rc = mig_config_get_bool(ctx->cfg, ctx, "mig", "transaction_per_migration", 0, &per);
    r->per_migration = per;
    if (rc == 0)
        rc = mig_config_get_duration_ms(ctx->cfg, ctx, "mig", "lock_timeout_ddl", -1, &r->cfg_lock_ms);
    long retries = 0;
    if (rc == 0)
        rc = mig_config_get_int(ctx->cfg, ctx, "mig", "lock_retries", 0, &retries);
    if (rc == 0 && (retries < 0 || retries > MIG_RETRIES_MAX)) {
        int line = 0;
        mig_config_raw(ctx->cfg, "mig", "lock_retries", &line);
        return mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                           "[mig] lock_retries: %ld is not a whole number from 0 to %d", retries,
                           MIG_RETRIES_MAX);
    }
    r->cfg_retries = (int)retries;
    return rc;
}

static unsigned plan_flags(const run *r)
{
    return (r->flags & MIG_RUN_EXPAND) ? MIG_PLAN_EXPAND : 0u;
}

/* The plan from the version table as last read (r->heads). */
static int make_plan(run *r, const char *target, int upgrade)
{
    return mig_graph_plan_ex(&r->plan, r->ctx, r->g, (const char *const *)r->heads.v, r->heads.n, target,
                             upgrade ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE, plan_flags(r));
}

/*
 * --expand: say which pending revisions wait for the contract step, and
 * keep them for mig_last_run. Each on its own line, as steps are, then
 * the way on.
 */
static int say_held_back(run *r, const mig_strvec *held, const char *target)
{
    mig_ctx *ctx = r->ctx;
    mig_strvec_release(&ctx->run_held);
    for (size_t i = 0; i < held->n; i++) {
        const mig_rev *rev = NULL;
        if (mig_graph_find(&rev, ctx, r->g, held->v[i]) != 0 || rev == NULL) {
            mig_error_clear(ctx);
            continue;
        }
        if (mig_strvec_push(&ctx->run_held, rev->id) < 0)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        int has_msg = rev->message && *rev->message;
        mig_log(ctx, MIG_LOG_INFO, "held back %s%s%s  (%s)", rev->id, has_msg ? "  " : "",
                has_msg ? rev->message : "",
                rev->contract ? "phase contract" : "after a contract revision");
    }
    if (held->n)
        mig_log(ctx, MIG_LOG_INFO,
                "--expand held back %zu revision(s); once the new version of the "
                "application is live, a plain `mig upgrade %s` applies them",
                held->n, target);
    return 0;
}

/* Offline: `FROM:TO`, or TO from base (upgrade). */
static int offline_run(run *r, const char *target, int upgrade)
{
    mig_ctx *ctx = r->ctx;
    char *from = NULL;
    const char *to = target;
    const char *colon = strchr(target, ':');
    if (colon) {
        from = mig_strndup(target, (size_t)(colon - target));
        to = colon + 1;
    } else if (!upgrade) {
        int rc = mig_fail(ctx, MIG_EUSAGE, "downgrade --sql needs a range FROM:TO, got '%s'", target);
        mig_error_hint(ctx, "e.g. mig downgrade --sql head:base");
        return rc;
    }
    int rc = 0;
    r->offline = 1;
    mig_strvec cur = MIG_STRVEC_INIT;
    if (from && strcmp(from, "base") != 0 && *from) {
        /* the start as heads: a revision id, prefix, or head(s) */
        if (strcmp(from, "head") == 0 || strcmp(from, "heads") == 0) {
            for (size_t i = 0; i < mig_graph_nheads(r->g); i++)
                mig_strvec_push(&cur, mig_graph_head(r->g, i)->id);
        } else {
            /* an id, a prefix or LABEL@head: what stamp would set the version table to */
            const char *fv[] = { from };
            rc = mig_graph_stamp(&cur, ctx, r->g, NULL, 0, fv, 1, 1);
        }
    }
    if (rc == 0)
        rc = mig_ctx_plugin(ctx, &r->s.plugin);
    const char *vt = NULL;
    if (rc == 0)
        rc = mig_ctx_version_table(ctx, &vt);
    if (rc == 0)
        rc = mig_check_version_table(ctx, r->s.plugin, vt);
    if (rc == 0)
        rc = mig_state_init(&r->s.st, ctx, r->s.plugin, vt);
    if (rc == 0) {
        r->transactional_ddl = (r->s.plugin->driver->caps & MIG_CAP_TRANSACTIONAL_DDL) != 0;
        rc = mig_graph_plan_ex(&r->plan, ctx, r->g, (const char *const *)cur.v, cur.n, to,
                               upgrade ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE, plan_flags(r));
    }
    if (rc == 0)
        rc = load_bodies(r);
    if (rc == 0) {
        /* DDL for the state tables first, outside the run's transaction on
         * drivers that commit DDL implicitly anyway */
        rc = mig_state_create_tables(&r->s.st, ctx, NULL, &r->sql);
    }
    if (rc == 0)
        rc = run_plan(r, 0);
    if (rc == 0)
        rc = emit_offline(r);
    if (rc == 0)
        rc = say_held_back(r, &r->plan->held_back, to);
    mig_strvec_release(&cur);
    free(from);
    return rc;
}

static int refuse_failed(run *r, const mig_failed *f, int upgrade, unsigned flags)
{
    mig_ctx *ctx = r->ctx;
    if (upgrade && (flags & MIG_RUN_RESUME))
        return 0;
    const mig_rev *rev = NULL;
    mig_graph_find(&rev, ctx, r->g, f->revision);
    int rc = mig_fail(ctx, MIG_EPARTIAL,
                      "revision %s (%s) failed part-way: %lld statement(s) of its %s were applied",
                      f->revision, rev ? rev->path : "file not found", (long long)f->statements_applied,
                      f->direction ? f->direction : "upgrade");
    mig_error_hint(ctx,
                   "fix the cause, then `mig upgrade --resume` continues at statement %lld; "
                   "or finish it by hand and `mig stamp %s`",
                   (long long)f->statements_applied + 1, f->revision);
    return rc;
}

static void heads_text(mig_buf *b, const mig_strvec *heads)
{
    join_heads(b, heads);
    if (heads->n == 0)
        mig_buf_puts(b, "base");
}

/* "nothing to do: already at 1f0e2d3c4b5a" -- the one way mig says a run had nothing to do */
static void say_nothing_to_do(mig_ctx *ctx, const mig_strvec *heads)
{
    mig_buf b = MIG_BUF_INIT;
    heads_text(&b, heads);
    mig_log(ctx, MIG_LOG_INFO, "nothing to do: already at %s", mig_buf_cstr(&b));
    mig_buf_release(&b);
}

/*
 * The run has ended: report each step with what became of it, and keep
 * where the database is now, with one line saying so when the run failed.
 * Steps still open when the run failed went with their transaction.
 */
static void finish_run(run *r, int rc)
{
    mig_ctx *ctx = r->ctx;
    size_t done = 0, undone = 0;
    const struct step_rec *failed = NULL;
    for (size_t i = 0; i < r->nrecs; i++) {
        struct step_rec *x = &r->recs[i];
        if (x->status == REC_OPEN)
            x->status = rc ? REC_UNDONE : REC_DONE;
        done += x->status == REC_DONE;
        undone += x->status == REC_UNDONE;
        if (x->status == REC_FAILED)
            failed = x;
    }
    if (!r->heads_read)
        return; /* never got as far as reading the version table: nothing ran, nothing to say */
    ctx->run_known = 1;
    ctx->run_applied = done;
    ctx->run_rolled_back = undone;
    mig_strvec_release(&ctx->run_current);
    mig_buf_clear(&ctx->run_summary);
    const mig_strvec *now = rc == 0 && r->plan ? &r->plan->final_heads : &r->done_heads;
    for (size_t i = 0; i < now->n; i++)
        mig_strvec_push(&ctx->run_current, now->v[i]);
    if (ctx->step_fn) {
        static const char *const names[] = { "applied", "applied", "failed", "rolled_back" };
        for (size_t i = 0; i < r->nrecs; i++) {
            const struct step_rec *x = &r->recs[i];
            mig_plan_step st = { 0 };
            st.rev = x->rev;
            st.upgrade = x->upgrade;
            mig_buf parents = MIG_BUF_INIT;
            const char *from, *to;
            step_ends(&st, &parents, &from, &to);
            mig_step_report rep = { x->rev->id,
                                    from,
                                    x->upgrade ? "upgrade" : "downgrade",
                                    x->rev->message ? x->rev->message : "",
                                    x->ms,
                                    names[x->status],
                                    x->attempts,
                                    NULL };
            ctx->step_fn(ctx->step_payload, &rep);
            mig_buf_release(&parents);
        }
    }
    if (rc == 0 || r->nrecs == 0)
        return;
    mig_buf where = MIG_BUF_INIT;
    heads_text(&where, &r->done_heads);
    const char *still = same_set(&r->done_heads, &r->start_heads) ? "still " : "";
    mig_buf *b = &ctx->run_summary;
    if (failed && r->fail_stepwise && r->fail_applied > 0) {
        mig_buf_printf(b,
                       "not rolled back: revision %s stopped part-way, %zu of its %zu statements applied "
                       "(recorded as failed)",
                       failed->rev->id, r->fail_applied, r->fail_total);
    } else if (failed && r->fail_stepwise) {
        mig_buf_printf(b, "stopped: revision %s applied none of its statements", failed->rev->id);
    } else if (failed && failed->rev->is_lua && !failed->rev->transactional) {
        mig_buf_printf(b,
                       "not rolled back: revision %s runs outside a transaction: what it did before it "
                       "failed stays",
                       failed->rev->id);
    } else if (undone) {
        mig_buf_printf(b, "rolled back: %zu applied revision(s) undone", undone);
    } else {
        mig_buf_puts(b, "rolled back: the failed revision was undone");
    }
    if (done)
        mig_buf_printf(b, "; %zu revision(s) committed before stay applied", done);
    mig_buf_printf(b, "; the database is %sat %s", still, mig_buf_cstr(&where));
    mig_buf_release(&where);
}

void mig_last_run(mig_ctx *ctx, mig_run_result *out)
{
    static const char *const none[] = { NULL };
    out->current = ctx->run_current.n ? (const char *const *)ctx->run_current.v : none;
    out->ncurrent = ctx->run_current.n;
    out->summary = mig_buf_cstr(&ctx->run_summary);
    out->applied = ctx->run_applied;
    out->rolled_back = ctx->run_rolled_back;
    out->known = ctx->run_known;
    out->held_back = ctx->run_held.n ? (const char *const *)ctx->run_held.v : none;
    out->nheld_back = ctx->run_held.n;
}

/* No connection: offline SQL, or the error that ruled out a run (rc). */
static int execute_offline(run *r, int rc, const char *target, int upgrade)
{
    mig_ctx *ctx = r->ctx;
    /* the graph first, its errors before the others */
    int grc = mig_ctx_graph(ctx, &r->g);
    if (grc || rc)
        return grc ? grc : rc;
    if (!(r->flags & MIG_RUN_SQL))
        return mig_fail(ctx, MIG_EUSAGE, "a range '%s' needs --sql", target);
    rc = offline_run(r, target, upgrade);
    free_bodies(r->bodies, r->plan ? r->plan->nsteps : 0);
    r->bodies = NULL;
    release(r);
    return rc;
}

/*
 * Already at head? Then there is nothing to lock for: a deploy that finds
 * the database current returns without queueing behind another run's
 * lock. *done = 1 when so (said, and the run's result kept); else the
 * heads and plan read here are dropped, to be read again under the lock.
 */
static int at_head_already(run *r, const char *target, int *done)
{
    mig_ctx *ctx = r->ctx;
    *done = 0;
    int rc = mig_state_read_heads(&r->s.st, ctx, r->s.db, &r->heads);
    if (rc)
        return rc;
    if (r->heads.n) {
        int prc = make_plan(r, target, 1);
        size_t n = r->plan ? r->plan->nsteps : 1;
        mig_error_clear(ctx);
        if (prc == 0 && n == 0) {
            mig_failed f;
            int found = 0;
            rc = mig_state_find_failed(&r->s.st, ctx, r->s.db, &f, &found);
            mig_failed_release(&f);
            if (rc)
                return rc;
            if (!found) {
                join_heads(&ctx->run_from, &r->heads);
                join_heads(&ctx->run_to, &r->heads);
                ctx->run_steps = 0;
                for (size_t i = 0; i < r->heads.n; i++)
                    mig_strvec_push(&ctx->run_current, r->heads.v[i]);
                ctx->run_known = 1;
                say_nothing_to_do(ctx, &r->heads);
                *done = 1;
                return say_held_back(r, &r->plan->held_back, target);
            }
        }
        mig_plan_free(r->plan);
        r->plan = NULL;
    }
    mig_strvec_release(&r->heads);
    return 0;
}

/*
 * A revision recorded as failed part-way: refused, unless --resume, and
 * then it must be the first step, unchanged up to where it stopped. Then
 * the plan and bodies are made here and *resume_at is where to go on.
 */
static int check_failed(run *r, const char *target, int upgrade, unsigned flags, int64_t *resume_at)
{
    mig_ctx *ctx = r->ctx;
    mig_failed f;
    int found = 0;
    int rc = mig_state_find_failed(&r->s.st, ctx, r->s.db, &f, &found);
    if (rc == 0 && found)
        rc = refuse_failed(r, &f, upgrade, flags);
    if (rc == 0 && found) {
        rc = make_plan(r, target, upgrade);
        if (rc == 0 && (r->plan->nsteps == 0 || strcmp(r->plan->steps[0].rev->id, f.revision) != 0))
            rc = mig_fail(ctx, MIG_EPARTIAL, "cannot resume: revision %s is not the next step toward '%s'",
                          f.revision, target);
        if (rc == 0)
            rc = load_bodies(r);
        if (rc == 0) {
            const char *text;
            size_t len;
            int line;
            section(&r->bodies[0], 1, &text, &len, &line);
            stmt_span *sp = NULL;
            size_t n = 0;
            rc = split(r, text, len, &sp, &n);
            if (rc == 0) {
                char hash[65];
                size_t k = (size_t)f.statements_applied;
                prefix_hash(text, sp, k <= n ? k : n, hash);
                if (k > n || (f.applied_hash && strcmp(hash, f.applied_hash) != 0))
                    rc = mig_fail(ctx, MIG_EPARTIAL,
                                  "cannot resume revision %s: %s changed in its first %lld statement(s) since they ran",
                                  f.revision, r->plan->steps[0].rev->path,
                                  (long long)f.statements_applied);
                *resume_at = (int64_t)k;
                mig_log(ctx, MIG_LOG_INFO, "resuming revision %s at statement %lld", f.revision,
                        (long long)k + 1);
            }
            free(sp);
        }
    }
    mig_failed_release(&f);
    return rc;
}

/* Run the plan; when another run moved the version table meanwhile, plan again from there. */
static int run_plan_to_end(run *r, const char *target, int upgrade, int64_t resume_at)
{
    mig_ctx *ctx = r->ctx;
    int rc = run_plan(r, resume_at);
    while (rc == REPLAN) {
        /* we hold the write transaction again: plan from what is there now */
        free_bodies(r->bodies, r->plan->nsteps);
        r->bodies = NULL;
        mig_plan_free(r->plan);
        r->plan = NULL;
        mig_strvec_release(&r->heads);
        rc = mig_state_read_heads(&r->s.st, ctx, r->s.db, &r->heads);
        /* what is there now is what the database holds, whoever put it there */
        mig_strvec_release(&r->done_heads);
        for (size_t i = 0; rc == 0 && i < r->heads.n; i++)
            if (mig_strvec_push(&r->done_heads, r->heads.v[i]) < 0)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        if (rc == 0)
            rc = make_plan(r, target, upgrade);
        if (rc == 0)
            rc = load_bodies(r);
        if (rc == 0)
            rc = run_plan(r, 0);
    }
    return rc;
}

static int execute(mig_ctx *ctx, const char *target, int upgrade, unsigned flags)
{
    run r;
    memset(&r, 0, sizeof r);
    ctx->run_steps = 0;
    mig_buf_clear(&ctx->run_from);
    mig_buf_clear(&ctx->run_to);
    ctx->run_known = 0;
    ctx->run_applied = ctx->run_rolled_back = 0;
    mig_strvec_release(&ctx->run_current);
    mig_buf_clear(&ctx->run_summary);
    mig_strvec_release(&ctx->run_held);
    r.ctx = ctx;
    r.flags = flags;
    int rc = config_flags(&r);
    if (rc || (flags & MIG_RUN_SQL) || strchr(target, ':'))
        return execute_offline(&r, rc, target, upgrade);

    /*
     * A new project: nothing written yet is nothing to do, without a
     * connection. The look at the folder is cheap; the graph proper loads
     * while the session connects.
     */
    int nothing_ok = upgrade && is_head_target(target);
    if (nothing_ok && !mig_ctx_may_have_revisions(ctx)) {
        rc = mig_ctx_graph(ctx, &r.g);
        if (rc)
            return rc;
    }
    if (r.g && mig_graph_count(r.g) == 0) {
        mig_log(ctx, MIG_LOG_INFO, "nothing to do: no revisions in %s", ctx->versions_dir);
        return 0;
    }
    /* head on a project without revisions is nothing to do, not a target to refute */
    rc = mig_session_open_with_graph(&r.s, ctx, &r.g, nothing_ok ? NULL : target,
                                     upgrade ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE);
    if (rc)
        goto out;
    if (nothing_ok && mig_graph_count(r.g) == 0) {
        /* only names that are not revisions after all: still nothing to do */
        mig_log(ctx, MIG_LOG_INFO, "nothing to do: no revisions in %s", ctx->versions_dir);
        goto out;
    }
    r.transactional_ddl = (r.s.plugin->driver->caps & MIG_CAP_TRANSACTIONAL_DDL) != 0;

    if (upgrade && is_head_target(target) && !(flags & MIG_RUN_RESUME)) {
        int done = 0;
        rc = at_head_already(&r, target, &done);
        if (rc || done)
            goto out;
    }

    rc = take_lock(&r);
    if (rc)
        goto out;
    rc = mig_state_create_tables(&r.s.st, ctx, r.s.db, NULL);
    if (rc)
        goto out;
    rc = mig_state_read_heads(&r.s.st, ctx, r.s.db, &r.heads);
    if (rc)
        goto out;
    join_heads(&ctx->run_from, &r.heads);
    join_heads(&ctx->run_to, &r.heads);
    for (size_t i = 0; i < r.heads.n; i++)
        if (mig_strvec_push(&r.done_heads, r.heads.v[i]) < 0 ||
            mig_strvec_push(&r.start_heads, r.heads.v[i]) < 0) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            goto out;
        }
    r.heads_read = 1;
    /* one Lua state for the run, made only when Lua runs: for [hooks]
     * scripts here, for a Lua revision when its body loads (load_bodies);
     * a run of SQL revisions never pays for starting Lua */
    if (ctx->cfg && mig_config_raw(ctx->cfg, "hooks", "scripts", NULL)) {
        rc = mig_lua_new(&r.lua, ctx, r.s.db, ctx->tenant);
        if (rc == 0)
            rc = mig_lua_hooks_load(r.lua);
        if (rc)
            goto out;
    }

    int64_t resume_at = 0;
    rc = check_failed(&r, target, upgrade, flags, &resume_at);
    if (rc)
        goto out;

    if (r.plan == NULL) {
        rc = make_plan(&r, target, upgrade);
        if (rc)
            goto out;
        rc = load_bodies(&r);
        if (rc)
            goto out;
    }
    if (r.plan->nsteps == 0)
        say_nothing_to_do(ctx, &r.heads);
    rc = run_plan_to_end(&r, target, upgrade, resume_at);
    if (rc == 0) {
        ctx->run_steps = r.steps_applied;
        join_heads(&ctx->run_to, &r.plan->final_heads);
        rc = say_held_back(&r, &r.plan->held_back, target);
    }
    if (rc)
        mig_lua_hooks_on_error(r.lua, r.cur_rev, upgrade);
out:
    /* a step cut short by an error outside it (a hook, the commit) still ends its line */
    mig_progress_end(ctx, 1);
    /* its cursors go before the connection does */
    mig_lua_free(r.lua);
    r.lua = NULL;
    free_bodies(r.bodies, r.plan ? r.plan->nsteps : 0);
    r.bodies = NULL;
    finish_run(&r, rc);
    release(&r);
    return rc;
}

/*
 * Load what tenant workers share before they start: they borrow the
 * parent's graph, driver and names, read-only.
 */
int mig_ctx_prepare_shared(mig_ctx *ctx)
{
    mig_graph *g;
    const mig_plugin *plugin;
    const char *vt;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc == 0)
        rc = mig_ctx_plugin(ctx, &plugin);
    if (rc == 0)
        rc = mig_ctx_version_table(ctx, &vt);
    if (rc == 0)
        rc = mig_check_version_table(ctx, plugin, vt);
    return rc;
}

typedef struct exec_args {
    const char *target;
    int upgrade;
    unsigned flags;
} exec_args;

/* Guards the parent's run_held, which tenant workers add to at once. */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

/* A tenant's held-back revisions join the parent's (for mig_last_run); rc, or MIG_ENOMEM. */
static int merge_held(mig_ctx *top, mig_ctx *child, int rc)
{
    if (child->run_held.n == 0)
        return rc;
    pthread_mutex_lock(&held_mu);
    top->run_held_tenants++;
    for (size_t i = 0; i < child->run_held.n; i++)
        if (!mig_strvec_contains(&top->run_held, child->run_held.v[i]) &&
            mig_strvec_push(&top->run_held, child->run_held.v[i]) < 0 && rc == 0)
            rc = mig_fail(child, MIG_ENOMEM, "out of memory");
    pthread_mutex_unlock(&held_mu);
    return rc;
}

static int exec_tenant(mig_ctx *child, void *payload)
{
    exec_args *a = payload;
    if (!child->opts.verbose)
        child->opts.quiet = 1; /* one line per tenant, from the caller's report */
    int rc = execute(child, a->target, a->upgrade, a->flags);
    /* the tenant's own lines were quiet: the parent says it once for all */
    return merge_held(child->parent, child, rc);
}

/* A tenant's offline SQL, kept until every tenant has rendered. */
static void collect_sql(void *payload, const char *sql)
{
    mig_buf_puts(payload, sql);
}

/*
 * Offline SQL for tenants: one script, a section per tenant in list order,
 * each switching to the tenant's schema (or database, on MySQL) and then
 * exactly what `--sql` renders for one database, version-table statements
 * included, so the rollout can be read and run without mig. Nothing is
 * printed unless every tenant renders, as for one database.
 */
static int offline_tenants(mig_ctx *ctx, const char *target, int upgrade, unsigned flags)
{
    mig_strvec names = MIG_STRVEC_INIT;
    mig_strvec_release(&ctx->run_held);
    ctx->run_held_tenants = 0;
    mig_buf script = MIG_BUF_INIT;
    int rc = 0;
    if (ctx->opts.all_tenants) {
        char *query = NULL;
        rc = mig_config_get(ctx->cfg, ctx, "tenants", "query", &query);
        if (rc == 0 && query) {
            int line = 0;
            mig_config_raw(ctx->cfg, "tenants", "query", &line);
            rc = mig_fail_at(
                ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                "--sql renders without a connection, and [tenants] query needs one to list the tenants");
            mig_error_hint(ctx,
                           "name them with --tenant NAME (repeatable), or list them in [tenants] list or script");
        }
        free(query);
    }
    if (rc == 0)
        rc = mig_tenants_resolve(ctx, &names);
    if (rc == 0)
        rc = mig_ctx_prepare_shared(ctx);
    char *url = NULL;
    if (rc == 0 && mig_ctx_url(ctx, &url) != 0) {
        mig_error_clear(ctx); /* no URL is needed offline */
        url = NULL;
    }
    int db_tenants = url && mig_url_has_tenant(url);
    mig_url_free(url);
    int create = 0;
    if (rc == 0 && db_tenants && names.n > 1) {
        rc = mig_fail(ctx, MIG_EUSAGE, "--sql with {tenant} in the URL: a script cannot switch databases");
        mig_error_hint(ctx,
                       "render one --tenant at a time, and run each script on that tenant's database");
    } else if (rc == 0 && !db_tenants) {
        rc = mig_tenant_check_schemas(ctx);
        if (rc == 0)
            rc = mig_config_get_bool(ctx->cfg, ctx, "tenants", "create_schemas", 0, &create);
    }
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        mig_ctx *child = NULL;
        rc = mig_ctx_child(&child, ctx, names.v[i]);
        mig_buf extra = MIG_BUF_INIT;
        if (rc == 0) {
            child->sql_fn = collect_sql;
            child->sql_payload = &script;
            child->step_fn = ctx->step_fn;
            child->step_payload = ctx->step_payload;
            /* the name as quoted in SQL, and no line break: it sits in a comment */
            char *q = mig_plugin_quote_ident(ctx->plugin, names.v[i]);
            for (char *p = q; p && *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
            mig_buf_printf(&script, "%s-- tenant %s (%zu/%zu)\n", i ? "\n" : "", q ? q : "", i + 1,
                           names.n);
            free(q);
            if (!db_tenants) {
                rc = mig_tenant_search_path(child, ctx->plugin, &extra);
                if (rc == 0 && mig_plugin_schema_sql(&script, ctx->plugin, names.v[i],
                                                     mig_buf_cstr(&extra), create) < 0)
                    rc = mig_fail(ctx, MIG_EDRIVER, "driver '%s' cannot render a switch of schema offline",
                                  ctx->plugin->driver->name);
            }
            if (rc == 0 && extra.oom)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        /* a tenant's error becomes the run's */
        int from_child = 0;
        if (rc == 0) {
            rc = merge_held(ctx, child, execute(child, target, upgrade, flags));
            from_child = rc != 0;
        } else {
            from_child = child && ctx->err_code == 0;
        }
        if (from_child) {
            mig_error_state st;
            mig_error_save(child, &st);
            mig_error_restore(ctx, &st);
        }
        mig_buf_release(&extra);
        mig_ctx_free(child);
    }
    if (rc == 0 && script.oom)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0)
        emit_text(ctx, &script);
    mig_buf_release(&script);
    mig_strvec_release(&names);
    return rc;
}

static int dispatch(mig_ctx *ctx, const char *target, int upgrade, unsigned flags)
{
    if (!mig_has_tenants(ctx) || ctx->tenant)
        return execute(ctx, target, upgrade, flags);
    if (flags & MIG_RUN_SQL)
        return offline_tenants(ctx, target, upgrade, flags);
    int rc = mig_ctx_prepare_shared(ctx);
    /* head with no revisions at all is nothing to do, as for one database */
    int nothing = upgrade && is_head_target(target) && mig_graph_count(ctx->graph) == 0;
    if (rc == 0 && !nothing)
        rc = mig_graph_check_target(ctx, ctx->graph, target,
                                    upgrade ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE);
    if (rc)
        return rc;
    exec_args a = { target, upgrade, flags };
    mig_strvec_release(&ctx->run_held);
    ctx->run_held_tenants = 0;
    /* `upgrade head` to the one head: tenants already there need no run of their own */
    if (upgrade && is_head_target(target) && !(flags & (MIG_RUN_RESUME | MIG_RUN_EXPAND)) &&
        mig_graph_nheads(ctx->graph) == 1)
        rc = mig_tenant_foreach_upgrade(ctx, exec_tenant, &a, mig_graph_head(ctx->graph, 0)->id);
    else
        rc = mig_tenant_foreach(ctx, exec_tenant, &a, 0);
    if (ctx->run_held.n) {
        mig_buf ids = MIG_BUF_INIT;
        join_heads(&ids, &ctx->run_held);
        mig_log(ctx, MIG_LOG_INFO,
                "--expand held back %s on %zu tenant(s); once the new version of the "
                "application is live, a plain `mig upgrade %s` applies them",
                mig_buf_cstr(&ids), ctx->run_held_tenants, target);
        mig_buf_release(&ids);
    }
    return rc;
}

int mig_upgrade(mig_ctx *ctx, const char *target, unsigned flags)
{
    mig_error_clear(ctx);
    if (target == NULL || *target == '\0')
        return mig_fail(ctx, MIG_EUSAGE, "upgrade needs a TARGET (e.g. head)");
    mig_cancel_watch w;
    mig_cancel_watch_start(&w, ctx);
    int rc = mig_cancel_note(ctx, dispatch(ctx, target, 1, flags));
    mig_cancel_watch_stop(&w);
    return rc;
}

int mig_downgrade(mig_ctx *ctx, const char *target, unsigned flags)
{
    mig_error_clear(ctx);
    if (target == NULL || *target == '\0')
        return mig_fail(ctx, MIG_EUSAGE, "downgrade needs a TARGET (e.g. -1 or base)");
    if (flags & MIG_RUN_RESUME)
        return mig_fail(ctx, MIG_EUSAGE, "--resume applies to upgrade only");
    if (flags & MIG_RUN_EXPAND)
        return mig_fail(ctx, MIG_EUSAGE,
                        "--expand applies to upgrade only: a downgrade has no phases to hold back");
    mig_cancel_watch w;
    mig_cancel_watch_start(&w, ctx);
    int rc = mig_cancel_note(ctx, dispatch(ctx, target, 0, flags));
    mig_cancel_watch_stop(&w);
    return rc;
}

/* ---- stamp, current, history, pending ---- */

typedef struct stamp_args {
    const char *const *targets;
    size_t n;
    int purge;
} stamp_args;

static int stamp_one(mig_ctx *ctx, const char *const *targets, size_t n, int purge);

static int stamp_tenant(mig_ctx *child, void *payload)
{
    stamp_args *a = payload;
    if (!child->opts.verbose)
        child->opts.quiet = 1;
    return stamp_one(child, a->targets, a->n, a->purge);
}

int mig_stamp(mig_ctx *ctx, const char *const *targets, size_t n, unsigned flags)
{
    int purge = (flags & MIG_STAMP_PURGE) != 0;
    mig_error_clear(ctx);
    if (n == 0)
        return mig_fail(ctx, MIG_EUSAGE, "stamp needs at least one TARGET");
    if (!mig_has_tenants(ctx) || ctx->tenant)
        return stamp_one(ctx, targets, n, purge);
    int rc = mig_ctx_prepare_shared(ctx);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mig_graph_check_target(ctx, ctx->graph, targets[i], MIG_TARGET_STAMP);
    if (rc)
        return rc;
    stamp_args a = { targets, n, purge };
    return mig_tenant_foreach(ctx, stamp_tenant, &a, 0);
}

static int stamp_one(mig_ctx *ctx, const char *const *targets, size_t n, int purge)
{
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    int rc = mig_ctx_graph(ctx, &r.g);
    /* a target the graph refutes creates no database file */
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mig_graph_check_target(ctx, r.g, targets[i], MIG_TARGET_STAMP);
    if (rc == 0)
        rc = mig_session_open(&r.s, ctx);
    if (rc)
        goto out;
    r.transactional_ddl = (r.s.plugin->driver->caps & MIG_CAP_TRANSACTIONAL_DDL) != 0;
    if ((rc = take_lock(&r)) != 0)
        goto out;
    if (!r.s.db->in_txn && (rc = begin(&r)) != 0)
        goto out;
    if ((rc = mig_state_create_tables(&r.s.st, ctx, r.s.db, NULL)) != 0)
        goto out;
    if ((rc = mig_state_read_heads(&r.s.st, ctx, r.s.db, &r.heads)) != 0)
        goto out;
    join_heads(&ctx->run_from, &r.heads);
    mig_strvec after = MIG_STRVEC_INIT;
    rc = mig_graph_stamp(&after, ctx, r.g, (const char *const *)r.heads.v, r.heads.n, targets, n, purge);
    if (rc == 0)
        rc = mig_state_delete_all_heads(&r.s.st, ctx, r.s.db, NULL);
    for (size_t i = 0; rc == 0 && i < after.n; i++)
        rc = mig_state_insert_head(&r.s.st, ctx, r.s.db, NULL, after.v[i]);
    /* record what was stamped; a stamp also settles a part-way failed revision */
    char started[40];
    mig_state_now(&r.s.st, started);
    for (size_t i = 0; rc == 0 && i < after.n; i++) {
        if (mig_strvec_contains(&r.heads, after.v[i]))
            continue;
        const mig_rev *rev = NULL;
        char sum[65] = "";
        if (mig_graph_find(&rev, ctx, r.g, after.v[i]) == 0) {
            mig_revbody b;
            if (mig_revfile_load_body(&b, ctx, rev) == 0) {
                memcpy(sum, b.checksum, sizeof sum);
                mig_revbody_release(&b);
            }
        }
        mig_error_clear(ctx);
        mig_hist h = { after.v[i], "stamp", sum[0] ? sum : NULL,
                       started,    0,       mig_state_applied_by(),
                       "done",     0,       NULL };
        rc = mig_state_insert_history(&r.s.st, ctx, r.s.db, NULL, &h);
    }
    if (rc == 0 && after.n == 0) {
        mig_hist h = { "base", "stamp", NULL, started, 0, mig_state_applied_by(), "done", 0, NULL };
        rc = mig_state_insert_history(&r.s.st, ctx, r.s.db, NULL, &h);
    }
    if (rc == 0) {
        /* a stamp of the failed revision itself, or anything, marks the failure settled */
        mig_failed f;
        int found = 0;
        rc = mig_state_find_failed(&r.s.st, ctx, r.s.db, &f, &found);
        if (rc == 0 && found) {
            mig_hist h = { f.revision,
                           "stamp",
                           f.checksum,
                           started,
                           0,
                           mig_state_applied_by(),
                           "done",
                           f.statements_applied,
                           f.applied_hash };
            rc = mig_state_insert_history(&r.s.st, ctx, r.s.db, NULL, &h);
        }
        mig_failed_release(&f);
    }
    if (rc == 0)
        rc = mig_db_commit(r.s.db, ctx);
    if (rc == 0) {
        mig_buf b = MIG_BUF_INIT;
        for (size_t i = 0; i < after.n; i++)
            mig_buf_printf(&b, "%s%s", i ? " " : "", after.v[i]);
        mig_log(ctx, MIG_LOG_INFO, "stamp %s", after.n ? mig_buf_cstr(&b) : "base");
        mig_buf_release(&b);
        join_heads(&ctx->run_to, &after);
        ctx->run_steps = 1;
    }
    mig_strvec_release(&after);
out:
    release(&r);
    return rc;
}

int mig_current(mig_ctx *ctx, const char *const **out, size_t *n)
{
    mig_error_clear(ctx);
    mig_session s;
    mig_strvec_release(&ctx->current);
    int missing = 0;
    int rc = mig_session_open_ro(&s, ctx, &missing);
    if (rc)
        return rc;
    if (!missing)
        rc = mig_state_read_heads(&s.st, ctx, s.db, &ctx->current);
    mig_session_close(&s);
    static const char *const none[] = { NULL };
    *out = ctx->current.n ? (const char *const *)ctx->current.v : none;
    *n = ctx->current.n;
    return rc;
}

int mig_pending(mig_ctx *ctx, size_t *n)
{
    const char *const *cur;
    size_t ncur;
    mig_graph *g;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc == 0)
        rc = mig_current(ctx, &cur, &ncur);
    if (rc == 0)
        rc = mig_graph_pending(n, ctx, g, cur, ncur);
    return rc;
}

int mig_pending_contract(mig_ctx *ctx, const char *const *current, size_t ncurrent,
                         const char *const **out, size_t *n)
{
    static const char *const none[] = { NULL };
    mig_graph *g;
    mig_strvec_release(&ctx->pending_contract);
    *out = none;
    *n = 0;
    int rc = mig_ctx_graph(ctx, &g);
    unsigned char *held = NULL;
    if (rc == 0 && (held = calloc(mig_graph_count(g) + 1, 1)) == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mig_graph_held_back(held, ctx, g, current, ncurrent);
    for (size_t i = 0; rc == 0 && i < mig_graph_count(g); i++)
        if (held[i] && mig_graph_at(g, i)->contract &&
            mig_strvec_push(&ctx->pending_contract, mig_graph_at(g, i)->id) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    free(held);
    if (rc == 0 && ctx->pending_contract.n) {
        *out = (const char *const *)ctx->pending_contract.v;
        *n = ctx->pending_contract.n;
    }
    return rc;
}

typedef struct hist_payload {
    mig_history_fn fn;
    void *payload;
} hist_payload;

static int hist_row(void *payload, const mig_row *row)
{
    hist_payload *hp = payload;
    char *v[8] = { 0 };
    int64_t dur = 0, stmts = 0;
    for (int i = 0; i < row->ncols && i < 8; i++) {
        const mig_value *x = &row->values[i];
        if (x->type == MIG_VAL_TEXT || x->type == MIG_VAL_BLOB)
            v[i] = mig_strndup(x->u.s.ptr, x->u.s.len);
        else if (x->type == MIG_VAL_INT) {
            v[i] = mig_aprintf("%lld", (long long)x->u.i);
            if (i == 4)
                dur = x->u.i;
            if (i == 7)
                stmts = x->u.i;
        }
    }
    if (v[4] && dur == 0)
        dur = strtoll(v[4], NULL, 10);
    if (v[7] && stmts == 0)
        stmts = strtoll(v[7], NULL, 10);
    mig_history_row h = { v[0] ? v[0] : "",
                          v[1] ? v[1] : "",
                          v[2] ? v[2] : "",
                          v[3] ? v[3] : "",
                          dur,
                          v[5] ? v[5] : "",
                          v[6] ? v[6] : "",
                          stmts };
    hp->fn(hp->payload, &h);
    for (int i = 0; i < 8; i++)
        free(v[i]);
    return 0;
}

int mig_history_applied(mig_ctx *ctx, mig_history_fn fn, void *payload)
{
    mig_error_clear(ctx);
    mig_session s;
    int missing = 0;
    int rc = mig_session_open_ro(&s, ctx, &missing);
    if (rc)
        return rc;
    hist_payload hp = { fn, payload };
    if (!missing)
        rc = mig_state_read_history(&s.st, ctx, s.db, hist_row, &hp);
    mig_session_close(&s);
    return rc;
}
