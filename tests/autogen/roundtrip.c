/*
 * Autogenerate round trip, a property test against a real database:
 *
 *   for each case (seed S+i): a random schema A and a random edit of it, B;
 *   the database is reset and A is run on it;
 *   the live schema must equal A loaded in the driver's scratch place;
 *   autogenerate A -> B, apply the upgrade: the live schema equals B;
 *   apply the downgrade: the live schema equals A again;
 *   in half the cases each table holds a row, which must survive both.
 *
 *   autogen_roundtrip DRIVER [CASES [SEED]]
 *
 * CASES and SEED also come from MIG_AUTOGEN_CASES / MIG_AUTOGEN_SEED (a
 * longer run: MIG_AUTOGEN_CASES=5000; MIG_AUTOGEN_VERBOSE=1 prints every
 * case). A failure prints its seed, both
 * schemas, the SQL and the differences left; `autogen_roundtrip DRIVER 1
 * SEED` runs that case alone. Servers come from $MIG_TEST_SERVERS_ENV
 * (tests/servers.sh); without them the test is skipped (77), or fails
 * under MIG_TEST_REQUIRE_SERVERS=1.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "autogen.h"
#include "schema.h"

/* ---- a small seeded generator (xorshift), the same on every machine ---- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (rng_state == 0)
        rng_state = 1;
}

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (unsigned)(rng_state % n) : 0;
}

/* ---- the generated schema ---- */

enum { MAXT = 6, MAXC = 8, MAXK = 4, NAMELEN = 16 };

typedef struct gcols {
    char v[3][NAMELEN];
    int n;
} gcols;

typedef struct gcol {
    char name[NAMELEN];
    int type; /* index into the driver's types */
    int nullable;
    int def;     /* -1: none, else index into the type's defaults */
    int autoinc; /* 1: serial / AUTO_INCREMENT, 2: identity (postgres) */
} gcol;

typedef struct gindex {
    char name[NAMELEN];
    int unique;
    gcols cols;
    int expr;    /* lower(col) on a text column */
    int partial; /* WHERE col IS NOT NULL */
} gindex;

typedef struct gfk {
    char col[NAMELEN];
    char ref_table[NAMELEN];
    char ref_col[NAMELEN];
    int action;
} gfk;

typedef struct gtable {
    char name[NAMELEN];
    int id;
    gcol cols[MAXC];
    int ncols;
    gcols pk;
    gcols uq[MAXK];
    int nuq;
    gindex ix[MAXK];
    int nix;
    gfk fk[MAXK];
    int nfk;
} gtable;

typedef struct gschema {
    gtable t[MAXT];
    int nt;
    int enum_id; /* postgres: an enum type e<N> with labels 'a', 'zz', 'q'; 0 = none */
    int next_id; /* names never come back: t7, c12, ix3 */
} gschema;

/* What a driver's dialect offers the generator. */
typedef struct dialect {
    const char *name;
    const char *types[8];
    int text[8]; /* is types[i] text-like (else a number); 0 past the end */
    int ntypes;
    int partial; /* partial indexes */
    int expr;    /* expression indexes */
    int autoinc; /* kinds of generated keys: 0, 1 (AUTO_INCREMENT), 2 (serial, identity) */
    int enums;   /* CREATE TYPE ... AS ENUM */
} dialect;

/* The type index of the schema's enum type (after the dialect's own types). */
#define ENUM_T 6

static const dialect dialects[] = {
    { "sqlite", { "INTEGER", "TEXT", "REAL", "VARCHAR(20)" }, { 0, 1, 0, 1 }, 4, 1, 1, 0, 0 },
    { "postgres",
      { "integer", "bigint", "text", "varchar(20)", "varchar(40)" },
      { 0, 0, 1, 1, 1 },
      5,
      1,
      1,
      2,
      1 },
    { "mysql", { "int", "bigint", "varchar(20)", "varchar(40)" }, { 0, 0, 1, 1 }, 4, 0, 0, 1, 0 },
};
static const dialect *D;

/*
 * With rows (half the cases), every table of A holds one row, and the edits
 * keep to what a table with rows can take, as a real schema change must: a
 * new NOT NULL column has a default, a column dropped can come back (it is
 * nullable or has a default), no type change into or out of the enum. The
 * row must survive the upgrade and the downgrade.
 */
static int with_rows;

static const char *const text_defaults[] = { "'a'", "'zz'" };
static const char *const num_defaults[] = { "0", "7" };
static const char *const actions[] = { "NO ACTION", "CASCADE", "SET NULL", "RESTRICT" };

/* Text-like for defaults ('a' and 'zz' are labels of the enum too). */
static int texty(int type)
{
    return type == ENUM_T || D->text[type];
}

static const char *default_of(const gcol *c)
{
    if (c->def < 0)
        return NULL;
    return texty(c->type) ? text_defaults[c->def] : num_defaults[c->def];
}

/* A type for a new column or a changed one: now and then the enum. */
static int pick_type(const gschema *s)
{
    if (s->enum_id && rnd(5) == 0)
        return ENUM_T;
    return (int)rnd((unsigned)D->ntypes);
}

static int enum_used(const gschema *s)
{
    for (int i = 0; i < s->nt; i++)
        for (int k = 0; k < s->t[i].ncols; k++)
            if (s->t[i].cols[k].type == ENUM_T)
                return 1;
    return 0;
}

static gcol *col_named(gtable *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static int cols_has(const gcols *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i], name) == 0)
            return 1;
    return 0;
}

static int cols_eq(const gcols *a, const gcols *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
}

/* Is t pointed at by a foreign key of another table? */
static int referenced_by_others(const gschema *s, const gtable *t)
{
    for (int i = 0; i < s->nt; i++)
        for (int k = 0; k < s->t[i].nfk; k++)
            if (&s->t[i] != t && strcmp(s->t[i].fk[k].ref_table, t->name) == 0)
                return 1;
    return 0;
}

/* Is column `col` of t pointed at by a foreign key (any table)? */
static int referenced(const gschema *s, const gtable *t, const char *col)
{
    for (int i = 0; i < s->nt; i++)
        for (int k = 0; k < s->t[i].nfk; k++)
            if (strcmp(s->t[i].fk[k].ref_table, t->name) == 0 &&
                (col == NULL || strcmp(s->t[i].fk[k].ref_col, col) == 0))
                return 1;
    return 0;
}

static int in_own_fk(const gtable *t, const char *col)
{
    for (int k = 0; k < t->nfk; k++)
        if (strcmp(t->fk[k].col, col) == 0)
            return 1;
    return 0;
}

/* A key or index on these columns already (the databases fold some together). */
static int key_taken(const gtable *t, const gcols *c)
{
    if (cols_eq(&t->pk, c))
        return 1;
    for (int i = 0; i < t->nuq; i++)
        if (cols_eq(&t->uq[i], c))
            return 1;
    for (int i = 0; i < t->nix; i++)
        if (!t->ix[i].expr && cols_eq(&t->ix[i].cols, c))
            return 1;
    return 0;
}

/*
 * MySQL: a key leading with a foreign key's column is what InnoDB hangs
 * the foreign key on; keep the generator from writing the shapes where
 * InnoDB then names its own index after the column (see docs/autogenerate.md).
 */
static int fk_leads(const gtable *t, const gcols *c)
{
    return strcmp(D->name, "mysql") == 0 && c->n > 0 && in_own_fk(t, c->v[0]);
}

static void pick_cols(gtable *t, gcols *out, int max)
{
    out->n = 0;
    int want = 1 + (int)rnd((unsigned)max);
    for (int tries = 0; tries < 8 && out->n < want; tries++) {
        const char *name = t->cols[rnd((unsigned)t->ncols)].name;
        if (!cols_has(out, name))
            memcpy(out->v[out->n++], name, NAMELEN);
    }
}

static void new_column(gschema *s, gtable *t, int type)
{
    gcol *c = &t->cols[t->ncols++];
    snprintf(c->name, NAMELEN, "c%d", s->next_id++);
    c->type = type >= 0 ? type : pick_type(s);
    c->nullable = (int)rnd(3) != 0;
    c->def = rnd(3) == 0 ? (int)rnd(2) : -1;
    c->autoinc = 0;
    if (with_rows && !c->nullable && c->def < 0)
        c->def = 0;
}

static void add_index(gschema *s, gtable *t)
{
    if (t->nix >= MAXK || t->ncols == 0)
        return;
    gindex x = { 0 };
    snprintf(x.name, NAMELEN, "ix%d", s->next_id++);
    x.unique = rnd(3) == 0;
    if (D->expr && rnd(4) == 0) {
        for (int i = 0; i < t->ncols; i++)
            if (D->text[t->cols[i].type]) {
                x.expr = 1;
                x.cols.n = 1;
                memcpy(x.cols.v[0], t->cols[i].name, NAMELEN);
                break;
            }
    }
    if (!x.expr) {
        pick_cols(t, &x.cols, 2);
        if (key_taken(t, &x.cols) || fk_leads(t, &x.cols))
            return;
    }
    x.partial = D->partial && rnd(3) == 0;
    t->ix[t->nix++] = x;
}

static void add_unique(gtable *t)
{
    if (t->nuq >= MAXK || t->ncols == 0)
        return;
    gcols c;
    pick_cols(t, &c, 2);
    if (key_taken(t, &c) || fk_leads(t, &c))
        return;
    t->uq[t->nuq++] = c;
}

/* A foreign key from a new column of t to the single-column key of an older table, or its own. */
static void add_fk(gschema *s, gtable *t)
{
    if (t->nfk >= MAXK || t->ncols >= MAXC)
        return;
    gtable *cand[MAXT];
    int n = 0;
    for (int i = 0; i < s->nt; i++)
        if (s->t[i].id <= t->id && s->t[i].pk.n == 1) /* itself too: a tree of rows */
            cand[n++] = &s->t[i];
    if (n == 0)
        return;
    gtable *r = cand[rnd((unsigned)n)];
    gcol *rc = col_named(r, r->pk.v[0]);
    char ref_col[NAMELEN], ref_table[NAMELEN];
    memcpy(ref_col, rc->name, NAMELEN);
    memcpy(ref_table, r->name, NAMELEN);
    new_column(s, t, rc->type);
    gcol *c = &t->cols[t->ncols - 1];
    c->nullable = 1;
    c->def = -1;
    gfk *f = &t->fk[t->nfk++];
    memcpy(f->col, c->name, NAMELEN);
    memcpy(f->ref_table, ref_table, NAMELEN);
    memcpy(f->ref_col, ref_col, NAMELEN);
    f->action = (int)rnd(4);
}

static void set_pk(gtable *t, int ncols)
{
    /* MySQL: an AUTO_INCREMENT column must be a key, and it may not be one now */
    for (int i = 0; i < t->ncols; i++)
        if (D->autoinc == 1)
            t->cols[i].autoinc = 0;
    t->pk.n = 0;
    for (int tries = 0; tries < 8 && t->pk.n < ncols; tries++) {
        gcol *c = &t->cols[rnd((unsigned)t->ncols)];
        if (cols_has(&t->pk, c->name) || in_own_fk(t, c->name) || (with_rows && c->nullable && c->def < 0))
            continue;
        memcpy(t->pk.v[t->pk.n++], c->name, NAMELEN);
        c->nullable = 0;
    }
    for (int i = 0; i < t->nuq; i++)
        if (cols_eq(&t->uq[i], &t->pk))
            t->pk.n = 0; /* not over a unique key */
    for (int i = 0; i < t->nix; i++)
        if (!t->ix[i].expr && cols_eq(&t->ix[i].cols, &t->pk))
            t->pk.n = 0;
}

static void add_table(gschema *s)
{
    if (s->nt >= MAXT)
        return;
    gtable *t = &s->t[s->nt++];
    memset(t, 0, sizeof *t);
    t->id = s->next_id++;
    snprintf(t->name, NAMELEN, "t%d", t->id);
    int ncols = 1 + (int)rnd(4);
    for (int i = 0; i < ncols; i++)
        new_column(s, t, -1);
    if (rnd(4) != 0)
        set_pk(t, 1 + (int)(rnd(4) == 0));
    if (D->autoinc && t->pk.n == 1 && rnd(3) == 0) {
        /* a generated key: integers only (the first two types of each dialect) */
        gcol *c = col_named(t, t->pk.v[0]);
        if (c->type < 2) {
            c->autoinc = 1 + (int)rnd((unsigned)D->autoinc);
            c->def = -1;
        }
    }
    if (rnd(3) == 0)
        add_fk(s, t);
    if (rnd(3) == 0)
        add_unique(t);
    for (int n = (int)rnd(3); n > 0; n--)
        add_index(s, t);
}

static void gen_schema(gschema *s)
{
    memset(s, 0, sizeof *s);
    s->next_id = 1;
    if (D->enums && rnd(3) == 0)
        s->enum_id = s->next_id++;
    for (int n = (int)rnd(4); n > 0; n--)
        add_table(s);
}

/* Remove column `name` of t and everything built on it. */
static void drop_column(gschema *s, gtable *t, const char *name)
{
    char col[NAMELEN];
    memcpy(col, name, NAMELEN);
    for (int i = 0; i < t->nix; i++)
        if (cols_has(&t->ix[i].cols, col))
            t->ix[i--] = t->ix[--t->nix];
    for (int i = 0; i < t->nuq; i++)
        if (cols_has(&t->uq[i], col))
            t->uq[i--] = t->uq[--t->nuq];
    for (int i = 0; i < t->nfk; i++)
        if (strcmp(t->fk[i].col, col) == 0)
            t->fk[i--] = t->fk[--t->nfk];
    if (cols_has(&t->pk, col))
        t->pk.n = 0;
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, col) == 0) {
            memmove(&t->cols[i], &t->cols[i + 1], (size_t)(t->ncols - i - 1) * sizeof *t->cols);
            t->ncols--;
            break;
        }
    (void)s;
}

/* One random edit; returns 0 when the one drawn did not apply. */
static int edit(gschema *s)
{
    if (s->nt == 0) {
        add_table(s);
        return 1;
    }
    gtable *t = &s->t[rnd((unsigned)s->nt)];
    gcol *c = t->ncols ? &t->cols[rnd((unsigned)t->ncols)] : NULL;
    int key_col = c && (cols_has(&t->pk, c->name) || in_own_fk(t, c->name) || referenced(s, t, c->name));
    switch (rnd(D->enums ? 16 : 15)) {
    case 15:
        if (s->enum_id == 0) {
            s->enum_id = s->next_id++;
            return 1;
        }
        if (enum_used(s))
            return 0;
        s->enum_id = 0;
        return 1;
    case 0:
        add_table(s);
        return 1;
    case 1:
        if (referenced_by_others(s, t))
            return 0;
        *t = s->t[--s->nt];
        return 1;
    case 2:
        if (t->ncols >= MAXC)
            return 0;
        new_column(s, t, -1);
        return 1;
    case 3:
        if (c == NULL || t->ncols < 2 || referenced(s, t, c->name))
            return 0;
        if (with_rows && !c->nullable && c->def < 0)
            return 0; /* the downgrade could not bring it back to a table with rows */
        drop_column(s, t, c->name);
        return 1;
    case 4: {
        if (c == NULL || key_col)
            return 0;
        int type = pick_type(s);
        if (type == c->type || (with_rows && (type == ENUM_T || c->type == ENUM_T)))
            return 0;
        /* an expression index wants text */
        for (int i = 0; i < t->nix; i++)
            if (t->ix[i].expr && cols_has(&t->ix[i].cols, c->name) && !D->text[type])
                return 0;
        if (texty(type) != texty(c->type))
            c->def = with_rows && !c->nullable ? 0 : -1;
        c->type = type;
        return 1;
    }
    case 5:
        if (c == NULL || key_col || (with_rows && c->nullable && c->def < 0))
            return 0; /* with rows: a column of B's own would have no value */
        c->nullable = !c->nullable;
        return 1;
    case 6:
        if (c == NULL || key_col || (with_rows && !c->nullable))
            return 0;
        c->def = c->def >= 0 ? (rnd(2) ? -1 : 1 - c->def) : (int)rnd(2);
        return 1;
    case 7:
        add_index(s, t);
        return 1;
    case 8:
        if (t->nix == 0)
            return 0;
        t->nix--;
        t->ix[rnd((unsigned)t->nix + 1)] = t->ix[t->nix];
        return 1;
    case 9:
        add_unique(t);
        return 1;
    case 10:
        if (t->nuq == 0)
            return 0;
        t->nuq--;
        t->uq[rnd((unsigned)t->nuq + 1)] = t->uq[t->nuq];
        return 1;
    case 11:
        add_fk(s, t);
        return 1;
    case 12:
        if (t->nfk == 0)
            return 0;
        t->nfk--;
        t->fk[rnd((unsigned)t->nfk + 1)] = t->fk[t->nfk];
        return 1;
    case 13:
        if (referenced(s, t, NULL) || t->ncols == 0)
            return 0;
        if (t->pk.n && rnd(2)) {
            t->pk.n = 0;
            for (int i = 0; i < t->ncols && D->autoinc == 1; i++)
                t->cols[i].autoinc = 0;
        } else
            set_pk(t, 1 + (int)(rnd(3) == 0));
        return 1;
    default:
        if (t->nfk == 0)
            return 0;
        t->fk[rnd((unsigned)t->nfk)].action = (int)rnd(4);
        return 1;
    }
}

/* ---- the schema as DDL in the driver's dialect ---- */

static void put_cols(mig_buf *b, const gcols *c)
{
    for (int i = 0; i < c->n; i++)
        mig_buf_printf(b, "%s%s", i ? ", " : "", c->v[i]);
}

static char *ddl_of(const gschema *s)
{
    mig_buf b = MIG_BUF_INIT;
    if (s->enum_id)
        mig_buf_printf(&b, "CREATE TYPE e%d AS ENUM ('a', 'zz', 'q');\n", s->enum_id);
    /* tables in the order they were made: a foreign key points at an older one */
    int done[MAXT] = { 0 };
    for (int n = 0; n < s->nt; n++) {
        int pick = -1;
        for (int i = 0; i < s->nt; i++)
            if (!done[i] && (pick < 0 || s->t[i].id < s->t[pick].id))
                pick = i;
        done[pick] = 1;
        const gtable *t = &s->t[pick];
        mig_buf_printf(&b, "CREATE TABLE %s (", t->name);
        for (int i = 0; i < t->ncols; i++) {
            const gcol *c = &t->cols[i];
            char enum_name[NAMELEN];
            snprintf(enum_name, sizeof enum_name, "e%d", s->enum_id);
            const char *type = c->type == ENUM_T ? enum_name : D->types[c->type];
            if (c->autoinc == 1 && strcmp(D->name, "postgres") == 0)
                type = c->type == 0 ? "serial" : "bigserial";
            mig_buf_printf(&b, "%s%s %s%s%s%s", i ? ", " : "", c->name, type,
                           c->nullable ? "" : " NOT NULL",
                           c->autoinc == 1 && strcmp(D->name, "mysql") == 0 ? " AUTO_INCREMENT" : "",
                           c->autoinc == 2 ? " GENERATED BY DEFAULT AS IDENTITY" : "");
            if (default_of(c))
                mig_buf_printf(&b, " DEFAULT %s", default_of(c));
        }
        if (t->pk.n) {
            mig_buf_puts(&b, ", PRIMARY KEY (");
            put_cols(&b, &t->pk);
            mig_buf_puts(&b, ")");
        }
        for (int i = 0; i < t->nuq; i++) {
            mig_buf_puts(&b, ", UNIQUE (");
            put_cols(&b, &t->uq[i]);
            mig_buf_puts(&b, ")");
        }
        for (int i = 0; i < t->nfk; i++)
            mig_buf_printf(&b, ", FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s", t->fk[i].col,
                           t->fk[i].ref_table, t->fk[i].ref_col, actions[t->fk[i].action]);
        mig_buf_puts(&b, ");\n");
        for (int i = 0; i < t->nix; i++) {
            const gindex *x = &t->ix[i];
            mig_buf_printf(&b, "CREATE %sINDEX %s ON %s (", x->unique ? "UNIQUE " : "", x->name, t->name);
            if (x->expr)
                mig_buf_printf(&b, "lower(%s)", x->cols.v[0]);
            else
                put_cols(&b, &x->cols);
            mig_buf_puts(&b, ")");
            if (x->partial)
                mig_buf_printf(&b, " WHERE %s IS NOT NULL", x->cols.v[0]);
            mig_buf_puts(&b, ";\n");
        }
    }
    return mig_buf_detach(&b);
}

/* One row per table: a value in every column but the foreign keys' (NULL). */
static char *rows_of(const gschema *s)
{
    mig_buf b = MIG_BUF_INIT;
    for (int i = 0; i < s->nt; i++) {
        const gtable *t = &s->t[i];
        mig_buf cols = MIG_BUF_INIT, vals = MIG_BUF_INIT;
        for (int k = 0; k < t->ncols; k++) {
            const gcol *c = &t->cols[k];
            if (in_own_fk(t, c->name))
                continue;
            mig_buf_printf(&cols, "%s%s", cols.len ? ", " : "", c->name);
            mig_buf_printf(&vals, "%s%s", vals.len ? ", " : "",
                           c->type == ENUM_T  ? "'a'"
                           : D->text[c->type] ? "'1'"
                                              : "1");
        }
        if (cols.len)
            mig_buf_printf(&b, "INSERT INTO %s (%s) VALUES (%s);\n", t->name, mig_buf_cstr(&cols),
                           mig_buf_cstr(&vals));
        mig_buf_release(&cols);
        mig_buf_release(&vals);
    }
    return mig_buf_detach(&b);
}

/* ---- the database ---- */

static mig_ctx *ctx;
static const mig_plugin *plugin;
static mig_db *db;
static char *base_url, *test_db;

static void die(const char *what)
{
    const mig_error *e = mig_last_error(ctx);
    fprintf(stderr, "autogen_roundtrip: %s: %s%s%s\n", what, e->message, *e->detail ? "\n  " : "",
            e->detail);
    exit(1);
}

static int run_sql(const char *sql)
{
    return mig_db_exec(db, ctx, sql, strlen(sql), NULL, NULL);
}

/* The servers' description, as tests/servers.sh writes it: export K=V ... */
static void load_servers_env(void)
{
    const char *path = getenv("MIG_TEST_SERVERS_ENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    char tok[512];
    while (f && fscanf(f, "%511s", tok) == 1) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        setenv(tok, eq + 1, 0);
    }
    if (f)
        fclose(f);
}

static void skip_or_fail(const char *why)
{
    const char *req = getenv("MIG_TEST_REQUIRE_SERVERS");
    if (req && strcmp(req, "1") == 0) {
        fprintf(stderr, "FAIL: %s\n", why);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s\n", why);
    exit(77);
}

static void connect_db(const char *url)
{
    mig_db_close(db);
    db = NULL;
    if (mig_db_connect(&db, ctx, plugin, url, NULL) != 0)
        die("connect");
}

/* A fresh, empty database for one case. */
static void reset_db(void)
{
    char sql[256];
    if (strcmp(D->name, "sqlite") == 0) {
        connect_db("sqlite://");
    } else if (strcmp(D->name, "postgres") == 0) {
        if (run_sql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public") != 0)
            die("reset");
    } else {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", test_db);
        if (run_sql(sql) != 0)
            die("reset");
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", test_db);
        if (run_sql(sql) != 0)
            die("reset");
        snprintf(sql, sizeof sql, "USE %s", test_db);
        if (run_sql(sql) != 0)
            die("reset");
    }
}

static void setup(const char *driver)
{
    char sql[256];
    mig_options o = MIG_OPTIONS_INIT;
    load_servers_env();
    const char *h = NULL, *p = NULL, *u = NULL;
    if (strcmp(driver, "postgres") == 0) {
        h = getenv("MIG_TEST_PG_HOST"), p = getenv("MIG_TEST_PG_PORT"), u = getenv("MIG_TEST_PG_USER");
        if (!h || !p || !u)
            skip_or_fail("postgres server not available (run via make test)");
        base_url = mig_aprintf("postgresql://%s@%s:%s/postgres", u, h, p);
    } else if (strcmp(driver, "mysql") == 0) {
        h = getenv("MIG_TEST_MY_HOST"), p = getenv("MIG_TEST_MY_PORT"), u = getenv("MIG_TEST_MY_USER");
        if (!h || !p || !u)
            skip_or_fail("mysql server not available (run via make test)");
        base_url = mig_aprintf("mysql://%s@%s:%s/", u, h, p);
    } else {
        base_url = mig_aprintf("sqlite://");
    }
    o.url = base_url;
    o.driver = driver;
    if (mig_ctx_new(&o, &ctx) != 0 || mig_ctx_plugin(ctx, &plugin) != 0)
        die("driver");
    connect_db(base_url);
    test_db = mig_aprintf("mig_roundtrip_%ld", (long)getpid());
    if (strcmp(driver, "postgres") == 0) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", test_db);
        run_sql(sql);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", test_db);
        if (run_sql(sql) != 0)
            die("create database");
        char *url = mig_aprintf("postgresql://%s@%s:%s/%s", u, h, p, test_db);
        connect_db(url);
        free(url);
        /* the notices of DROP ... CASCADE are no news here */
        run_sql("SET client_min_messages = warning");
    }
}

static void teardown(void)
{
    char sql[256];
    if (strcmp(D->name, "mysql") == 0) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", test_db);
        run_sql(sql);
    }
    mig_db_close(db);
    db = NULL;
    if (strcmp(D->name, "postgres") == 0) {
        connect_db(base_url);
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", test_db);
        run_sql(sql);
        mig_db_close(db);
        db = NULL;
    }
    mig_ctx_free(ctx);
    free(base_url);
    free(test_db);
}

/* ---- one case ---- */

static const char *const skip_tables[] = { NULL };

static mig_schema *live(void)
{
    mig_schema *s = NULL;
    if (mig_schema_load(&s, ctx, db, skip_tables) != 0)
        die("introspect");
    return s;
}

/* The differences from a to b as text ("" when none). */
static char *differences(const mig_schema *a, const mig_schema *b)
{
    mig_changes ch = MIG_CHANGES_INIT;
    mig_buf out = MIG_BUF_INIT;
    if (mig_autogen_diff(&ch, ctx, a, b) != 0)
        die("diff");
    for (size_t i = 0; i < ch.n; i++) {
        mig_buf_puts(&out, "    ");
        mig_autogen_describe(&out, &ch.v[i].c);
        mig_buf_puts(&out, "\n");
    }
    mig_changes_release(&ch);
    return mig_buf_detach(&out);
}

static char *render(const mig_schema *from, const mig_schema *to)
{
    mig_changes ch = MIG_CHANGES_INIT;
    mig_buf out = MIG_BUF_INIT;
    if (mig_autogen_diff(&ch, ctx, from, to) != 0 ||
        mig_autogen_render(&out, ctx, plugin, &ch, from, to) != 0)
        die("render");
    mig_changes_release(&ch);
    return mig_buf_detach(&out);
}

/* Run a revision section as the runner would: one transaction where DDL has them. */
static int apply(const char *sql)
{
    int txn = (plugin->driver->caps & MIG_CAP_TRANSACTIONAL_DDL) != 0;
    if (txn && mig_db_begin(db, ctx, 1) != 0)
        return -1;
    int rc = run_sql(sql);
    if (txn && rc == 0)
        rc = mig_db_commit(db, ctx);
    else if (txn)
        mig_db_rollback(db, ctx);
    return rc;
}

/* The tables of A still in B that have lost their row ("" when none did). */
static char *rows_lost(const gschema *sa, const gschema *sb)
{
    mig_buf out = MIG_BUF_INIT;
    for (int i = 0; with_rows && i < sa->nt; i++) {
        int kept = 0;
        for (int k = 0; k < sb->nt; k++)
            kept |= strcmp(sb->t[k].name, sa->t[i].name) == 0;
        if (!kept)
            continue;
        char sql[128];
        mig_cursor *cur = NULL;
        const mig_row *row = NULL;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", sa->t[i].name);
        if (mig_db_query(&cur, db, ctx, sql, NULL, 0) != 0 || mig_db_fetch(cur, db, ctx, &row) != 0 ||
            row == NULL || row->values[0].type != MIG_VAL_INT || row->values[0].u.i != 1)
            mig_buf_printf(&out, "    %s has no row\n", sa->t[i].name);
        if (cur)
            mig_db_cursor_close(db, cur);
    }
    return mig_buf_detach(&out);
}

/*
 * Every index and constraint of the database, straight from the catalog,
 * one sorted line each: what introspection leaves out for autogenerate
 * (the index InnoDB keeps for a foreign key, SQLite's automatic indexes)
 * must come back from a round trip as well, so sets are compared, not
 * what the schema model shows.
 */
static char *catalog_sets(void)
{
    static const char *const sqlite_q =
        "SELECT m.name || ' index ' || (CASE WHEN il.origin = 'c' THEN il.name ELSE il.origin END) || "
        "' unique=' || il.\"unique\" || ' (' || (SELECT group_concat(coalesce(ii.name, '<expr>'), ',') "
        "FROM pragma_index_xinfo(il.name) ii WHERE ii.key = 1) || ')' "
        "FROM sqlite_master m, pragma_index_list(m.name) il WHERE m.type = 'table' "
        "UNION ALL SELECT m.name || ' fk ' || fk.\"from\" || ' -> ' || fk.\"table\" || '.' || "
        "coalesce(fk.\"to\", '') || ' ' || fk.on_delete || ' ' || fk.on_update "
        "FROM sqlite_master m, pragma_foreign_key_list(m.name) fk WHERE m.type = 'table' ORDER BY 1";
    static const char *const pg_q =
        "SELECT c.relname || ' index ' || i.relname || ' ' || pg_get_indexdef(x.indexrelid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "UNION ALL SELECT c.relname || ' constraint ' || k.conname || ' ' || pg_get_constraintdef(k.oid) "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() ORDER BY 1";
    /* the index InnoDB names after a foreign key or its first column is the same index either way */
    static const char *const my_q =
        "SELECT CONCAT(s.TABLE_NAME, ' index ', COALESCE(CONCAT('of foreign key ', f.fk), s.INDEX_NAME), "
        "' unique=', 1 - s.NON_UNIQUE, ' (', s.cols, ')') AS l FROM (SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, "
        "GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS cols FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE) s "
        "LEFT JOIN (SELECT TABLE_NAME, CONSTRAINT_NAME AS fk, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) "
        "AS cols, MIN(CASE WHEN ORDINAL_POSITION = 1 THEN COLUMN_NAME END) AS first "
        "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME "
        "IS NOT NULL GROUP BY TABLE_NAME, CONSTRAINT_NAME) f ON f.TABLE_NAME = s.TABLE_NAME AND f.cols = s.cols "
        "AND (f.fk = s.INDEX_NAME OR f.first = s.INDEX_NAME) "
        "UNION ALL SELECT CONCAT(TABLE_NAME, ' constraint ', CONSTRAINT_NAME, ' ', CONSTRAINT_TYPE) "
        "FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1";
    const char *q = strcmp(D->name, "sqlite") == 0     ? sqlite_q
                    : strcmp(D->name, "postgres") == 0 ? pg_q
                                                       : my_q;
    mig_buf out = MIG_BUF_INIT;
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    if (mig_db_query(&cur, db, ctx, q, NULL, 0) != 0)
        die("catalog");
    while (mig_db_fetch(cur, db, ctx, &row) == 0 && row != NULL)
        if (row->values[0].type == MIG_VAL_TEXT)
            mig_buf_printf(&out, "    %.*s\n", (int)row->values[0].u.s.len, row->values[0].u.s.ptr);
    mig_db_cursor_close(db, cur);
    return mig_buf_detach(&out);
}

/* The lines of a not in b, each marked with sign (a multiset difference). */
static void lines_missing(mig_buf *out, const char *a, const char *b, char sign)
{
    char *bb = strdup(b);
    for (const char *p = a; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        char *hit = NULL;
        for (char *q = bb; q && *q && hit == NULL;) {
            char *qe = strchr(q, '\n');
            size_t qn = qe ? (size_t)(qe - q + 1) : strlen(q);
            if (qn == n && memcmp(q, p, n) == 0)
                hit = q;
            q += qn;
        }
        if (hit)
            *hit = '#'; /* taken: a line starts with spaces, never '#' */
        else
            mig_buf_printf(out, "  %c%.*s", sign, (int)n, p);
        p += n;
    }
    free(bb);
}

static int failures;

static void report(uint64_t seed, const char *what, const char *a, const char *b, const char *up,
                   const char *down, const char *left)
{
    const mig_error *e = mig_last_error(ctx);
    failures++;
    fprintf(stderr, "FAIL %s seed %llu: %s\n", D->name, (unsigned long long)seed, what);
    if (left == NULL)
        fprintf(stderr, "  error: %s%s%s\n", e->message, *e->detail ? " / " : "", e->detail);
    fprintf(stderr, "  schema A:\n%s  schema B:\n%s", a, b ? b : "");
    if (up)
        fprintf(stderr, "  upgrade:\n%s", up);
    if (down)
        fprintf(stderr, "  downgrade:\n%s", down);
    if (left)
        fprintf(stderr, "  differences left:\n%s", left);
    fprintf(stderr, "  rerun: autogen_roundtrip %s 1 %llu\n", D->name, (unsigned long long)seed);
}

/* A case from A and B as DDL (a and b are the case's, freed here); sa/sb for the rows check. */
static int run_case(uint64_t seed, char *a, char *b, const gschema *psa, const gschema *psb,
                    size_t *nchanges)
{
    gschema sa = *psa, sb = *psb;
    char *up = NULL, *down = NULL, *left = NULL, *sets = NULL;
    mig_schema *la = NULL, *ta = NULL, *tb = NULL, *after = NULL;
    int ok = 0;

    reset_db();
    if (apply(a) != 0) {
        report(seed, "schema A does not load", a, NULL, NULL, NULL, NULL);
        goto out;
    }
    if (with_rows) {
        char *rows = rows_of(&sa);
        int rc = apply(rows);
        if (rc != 0)
            report(seed, "rows do not load", a, rows, NULL, NULL, NULL);
        free(rows);
        if (rc != 0)
            goto out;
    }
    la = live();
    if (mig_schema_load_ddl(&ta, ctx, db, a, strlen(a), skip_tables) != 0 ||
        mig_schema_load_ddl(&tb, ctx, db, b, strlen(b), skip_tables) != 0) {
        report(seed, "scratch load failed", a, b, NULL, NULL, NULL);
        goto out;
    }
    left = differences(la, ta);
    if (*left) {
        report(seed, "live A differs from A in the scratch place", a, b, NULL, NULL, left);
        goto out;
    }
    free(left);
    sets = catalog_sets();
    up = render(la, tb);
    down = render(tb, la);
    mig_changes ch = MIG_CHANGES_INIT;
    mig_autogen_diff(&ch, ctx, la, tb);
    *nchanges += ch.n;
    mig_changes_release(&ch);
    if (getenv("MIG_AUTOGEN_VERBOSE"))
        printf("-- seed %llu\n-- A:\n%s-- B:\n%s-- upgrade:\n%s-- downgrade:\n%s\n",
               (unsigned long long)seed, a, b, up, down);
    if (apply(up) != 0) {
        left = NULL;
        report(seed, "upgrade failed", a, b, up, down, NULL);
        goto out;
    }
    after = live();
    left = differences(after, tb);
    if (*left) {
        report(seed, "after the upgrade the database differs from B", a, b, up, down, left);
        goto out;
    }
    free(left);
    left = rows_lost(&sa, &sb);
    if (*left) {
        report(seed, "the upgrade lost rows", a, b, up, down, left);
        goto out;
    }
    free(left);
    left = NULL;
    mig_schema_free(after);
    after = NULL;
    if (apply(down) != 0) {
        report(seed, "downgrade failed", a, b, up, down, NULL);
        goto out;
    }
    after = live();
    left = differences(after, la);
    if (*left) {
        report(seed, "after the downgrade the database differs from A", a, b, up, down, left);
        goto out;
    }
    free(left);
    left = rows_lost(&sa, &sb);
    if (*left) {
        report(seed, "the downgrade lost rows", a, b, up, down, left);
        goto out;
    }
    free(left);
    {
        char *now = catalog_sets();
        mig_buf d = MIG_BUF_INIT;
        lines_missing(&d, now, sets, '+');
        lines_missing(&d, sets, now, '-');
        free(now);
        left = mig_buf_detach(&d);
    }
    if (*left) {
        report(seed,
               "after the downgrade the indexes and constraints differ from A's (+ left over, - missing)",
               a, b, up, down, left);
        goto out;
    }
    ok = 1;
out:
    mig_error_clear(ctx);
    free(a);
    free(b);
    free(up);
    free(down);
    free(left);
    free(sets);
    mig_schema_free(la);
    mig_schema_free(ta);
    mig_schema_free(tb);
    mig_schema_free(after);
    return ok;
}

static int one_case(uint64_t seed, size_t *nchanges)
{
    gschema sa, sb;
    rng_seed(seed);
    with_rows = (int)rnd(2);
    gen_schema(&sa);
    sb = sa;
    for (int n = 1 + (int)rnd(3), tries = 0; n > 0 && tries < 20; tries++)
        n -= edit(&sb);
    return run_case(seed, ddl_of(&sa), ddl_of(&sb), &sa, &sb, nchanges);
}

/*
 * Shapes the generator keeps away from, run on every driver first. The
 * first is MariaDB's: the index a foreign key rests on goes, so the
 * upgrade gives the key an index of its own; the downgrade must drop that
 * one again when it brings the old index back.
 */
static const char *const fixed[][2] = {
    { "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, k INTEGER, "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id));\n"
      "CREATE INDEX ix_pid_k ON c (pid, k);\n",
      "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, k INTEGER, "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id));\n" },
    { "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, k INTEGER, "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id), CONSTRAINT uq_pid_k UNIQUE (pid, k));\n",
      "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, k INTEGER, "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id));\n" },
    { "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (pid INTEGER NOT NULL, k INTEGER NOT NULL, PRIMARY KEY (pid, k), "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id));\n",
      "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
      "CREATE TABLE c (pid INTEGER NOT NULL, k INTEGER NOT NULL, "
      "CONSTRAINT c_pid_fk FOREIGN KEY (pid) REFERENCES p (id));\n" },
};

static void fixed_cases(size_t *nchanges)
{
    gschema none;
    memset(&none, 0, sizeof none);
    with_rows = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        /* and back: the downgrade of one is the upgrade of the other */
        run_case(i, strdup(fixed[i][0]), strdup(fixed[i][1]), &none, &none, nchanges);
        run_case(i, strdup(fixed[i][1]), strdup(fixed[i][0]), &none, &none, nchanges);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: autogen_roundtrip sqlite|postgres|mysql [CASES [SEED]]\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof dialects / sizeof *dialects; i++)
        if (strcmp(dialects[i].name, argv[1]) == 0)
            D = &dialects[i];
    if (D == NULL) {
        fprintf(stderr, "autogen_roundtrip: unknown driver %s\n", argv[1]);
        return 2;
    }
    const char *e_cases = getenv("MIG_AUTOGEN_CASES"), *e_seed = getenv("MIG_AUTOGEN_SEED");
    unsigned long cases = strtoul(argc > 2 ? argv[2] : e_cases ? e_cases : "150", NULL, 10);
    uint64_t seed = strtoull(argc > 3 ? argv[3] : e_seed ? e_seed : "1", NULL, 10);
    if (argc <= 2 && e_cases && argc <= 3 && e_seed == NULL)
        seed = (uint64_t)time(NULL); /* a long run explores new ground each time */
    setup(argv[1]);
    size_t changes = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fixed_cases(&changes);
    for (unsigned long i = 0; i < cases && failures < 5; i++)
        one_case(seed + i, &changes);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: %lu cases from seed %llu, %zu changes, %d failed (%.1f s)\n", D->name, cases,
           (unsigned long long)seed, changes, failures, s);
    teardown();
    return failures ? 1 : 0;
}
