/*
 * A throw-away project on a real SQLite file, for the unit tests of the
 * modules that run against a database (runner, state, tenant, lock, Lua):
 * a temporary folder holding mig.ini, migrations/versions/ and test.db,
 * revision files written by the test, and the database read back with
 * SQLite's own library rather than through mig, so a test checks what
 * mig wrote, not what mig says it wrote.
 *
 *     proj p;
 *     proj_new(&p, "");                        mig.ini: [mig] + extra lines
 *     proj_rev(&p, "a1", NULL, "CREATE TABLE t (x);", "DROP TABLE t;");
 *     mig_ctx *ctx = proj_ctx(&p, NULL);      options NULL: the defaults
 *     ... mig_upgrade(ctx, "head", 0) ...
 *     CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_version"), 1);
 *     mig_ctx_free(ctx);
 *     proj_free(&p);
 */
#ifndef MIG_UNIT_PROJECT_H
#define MIG_UNIT_PROJECT_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "unit.h"

typedef struct proj {
    char dir[256];
    char ini[300];
    char db[300];  /* test.db in dir */
    char url[320]; /* sqlite:///dir/test.db */
    mig_buf log;   /* every line the context logged, '\n'-separated */
} proj;

/* Write text to dir/rel, making the folders on the way. */
static inline void proj_write(proj *p, const char *rel, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", p->dir, rel);
    for (char *s = strchr(path + strlen(p->dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0700);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A fresh folder with mig.ini ([mig] script_location and url, then extra). */
static inline void proj_new(proj *p, const char *extra)
{
    memset(p, 0, sizeof *p);
    const char *tmp = getenv("TMPDIR");
    snprintf(p->dir, sizeof p->dir, "%s/mig-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(p->dir));
    snprintf(p->ini, sizeof p->ini, "%s/mig.ini", p->dir);
    snprintf(p->db, sizeof p->db, "%s/test.db", p->dir);
    snprintf(p->url, sizeof p->url, "sqlite:///%s", p->db);
    mig_buf_init(&p->log);
    char *ini = mig_aprintf("[mig]\nscript_location = migrations\nurl = %s\n%s\n", p->url, extra);
    proj_write(p, "mig.ini", ini);
    free(ini);
    proj_write(p, "migrations/versions/.keep", "");
}

/*
 * An SQL revision file id_rev.sql; down NULL for a root, downsql NULL for
 * none; header: more "-- mig:" lines (or NULL).
 */
static inline void proj_rev_h(proj *p, const char *id, const char *down, const char *header,
                              const char *up, const char *downsql)
{
    mig_buf b = MIG_BUF_INIT;
    mig_buf_printf(&b, "-- mig:revision %s\n", id);
    if (down)
        mig_buf_printf(&b, "-- mig:down_revision %s\n", down);
    mig_buf_printf(&b, "-- mig:message step %s\n%s\n-- mig:upgrade\n%s\n", id, header ? header : "", up);
    if (downsql)
        mig_buf_printf(&b, "\n-- mig:downgrade\n%s\n", downsql);
    char rel[128];
    snprintf(rel, sizeof rel, "migrations/versions/%s_rev.sql", id);
    proj_write(p, rel, mig_buf_cstr(&b));
    mig_buf_release(&b);
}

static inline void proj_rev(proj *p, const char *id, const char *down, const char *up, const char *downsql)
{
    proj_rev_h(p, id, down, NULL, up, downsql);
}

/* A Lua revision id_rev.lua: the header, then body (the chunk returning the table). */
static inline void proj_lua_rev(proj *p, const char *id, const char *down, const char *body)
{
    mig_buf b = MIG_BUF_INIT;
    mig_buf_printf(&b, "-- mig:revision %s\n", id);
    if (down)
        mig_buf_printf(&b, "-- mig:down_revision %s\n", down);
    mig_buf_printf(&b, "-- mig:message lua %s\n%s", id, body);
    char rel[128];
    snprintf(rel, sizeof rel, "migrations/versions/%s_rev.lua", id);
    proj_write(p, rel, mig_buf_cstr(&b));
    mig_buf_release(&b);
}

/* dir/rel as an absolute path (static buffer: use before the next call). */
static inline const char *proj_path(const proj *p, const char *rel)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", p->dir, rel);
    return path;
}

static inline void proj_logger(void *payload, mig_log_level level, const char *line)
{
    (void)level;
    mig_buf *log = payload;
    mig_buf_puts(log, line);
    mig_buf_putc(log, '\n');
}

/* A context on the project (o NULL: default options), its log kept in p->log. */
static inline mig_ctx *proj_ctx(proj *p, const mig_options *o)
{
    mig_options opts = MIG_OPTIONS_INIT;
    if (o)
        opts = *o;
    opts.config_path = p->ini;
    mig_ctx *ctx = NULL;
    int rc = mig_ctx_new(&opts, &ctx);
    if (rc != 0)
        fprintf(stderr, "\nmig_ctx_new: %s\n", ctx ? mig_last_error(ctx)->message : "?");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mig_set_logger(ctx, proj_logger, &p->log);
    return ctx;
}

/*
 * The first column of the first row of sql on file (dir/rel when rel
 * names one, else test.db), as an integer; -1 when the query fails (a
 * table that does not exist) or returns no row.
 */
static inline long long proj_int_in(const proj *p, const char *rel, const char *sql)
{
    sqlite3 *db = NULL;
    long long v = -1;
    if (sqlite3_open_v2(rel ? proj_path(p, rel) : p->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static inline long long proj_int(const proj *p, const char *sql)
{
    return proj_int_in(p, NULL, sql);
}

/* The same as text, every row's first column joined by ','; "" for none, "ERROR" on failure. */
static inline char *proj_text(const proj *p, const char *sql)
{
    sqlite3 *db = NULL;
    mig_buf b = MIG_BUF_INIT;
    int ok = 0;
    mig_buf_puts(&b, "");
    if (sqlite3_open_v2(p->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (b.len)
                    mig_buf_putc(&b, ',');
                const unsigned char *s = sqlite3_column_text(st, 0);
                mig_buf_puts(&b, s ? (const char *)s : "NULL");
            }
            ok = rc == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    if (!ok) {
        mig_buf_clear(&b);
        mig_buf_puts(&b, "ERROR");
    }
    return mig_buf_detach(&b);
}

/* Assert the text sql returns equals want. */
#define PROJ_TEXT_EQ(p, sql, want)                                                                      \
    do {                                                                                                \
        char *got__ = proj_text((p), (sql));                                                            \
        CU_ASSERT_STRING_EQUAL(got__, (want));                                                          \
        if (strcmp(got__, (want)) != 0)                                                                 \
            fprintf(stderr, "\n%s:%d: %s -> '%s', wanted '%s'\n", __FILE__, __LINE__, (sql), got__,     \
                    (want));                                                                            \
        free(got__);                                                                                    \
    } while (0)

/* Does the context's error (message, detail or hint) contain needle? */
#define MIG_ERROR_HAS(ctx, field, needle)                                                               \
    do {                                                                                                \
        const char *f__ = mig_last_error(ctx)->field;                                                   \
        if (f__ == NULL || strstr(f__, (needle)) == NULL) {                                             \
            fprintf(stderr, "\n%s:%d: error " #field " \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,      \
                    f__ ? f__ : "(null)", (needle));                                                    \
            CU_FAIL("error " #field);                                                                   \
        }                                                                                               \
    } while (0)

/* Did the context log a line containing needle? */
#define PROJ_LOGGED(p, needle)                                                                          \
    do {                                                                                                \
        if (strstr(mig_buf_cstr(&(p)->log), (needle)) == NULL) {                                        \
            fprintf(stderr, "\n%s:%d: log lacks \"%s\":\n%s\n", __FILE__, __LINE__, (needle),           \
                    mig_buf_cstr(&(p)->log));                                                           \
            CU_FAIL("log line");                                                                        \
        }                                                                                               \
    } while (0)

static inline int proj_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void proj_free(proj *p)
{
    nftw(p->dir, proj_rm, 16, FTW_DEPTH | FTW_PHYS);
    mig_buf_release(&p->log);
}

#endif
