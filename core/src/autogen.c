/*
 * Autogenerate: compare two schema models (the live database and the
 * [autogenerate] target, both read through the driver), order the
 * differences so the database accepts them, render them through the
 * driver, and write them as a revision (mig_autogenerate). `mig check`
 * uses the same comparison to report drift.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "autogen.h"
#include "fileio.h"

void mig_changes_release(mig_changes *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        free(ch->v[i].note);
    free(ch->v);
    ch->v = NULL;
    ch->n = ch->cap = 0;
}

static mig_autogen_change *push(mig_changes *ch, mig_ddl_kind kind, const mig_ddl_table *t)
{
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 16;
        mig_autogen_change *v = realloc(ch->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        ch->v = v;
        ch->cap = cap;
    }
    mig_autogen_change *c = &ch->v[ch->n++];
    memset(c, 0, sizeof *c);
    c->c.kind = kind;
    c->c.table = t;
    return c;
}

/* ---- equality ---- */

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int list_eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* Type names compare without case: SQLite keeps them as the user wrote them. */
static int column_eq(const mig_ddl_column *a, const mig_ddl_column *b)
{
    return strcasecmp(a->type, b->type) == 0 && !a->nullable == !b->nullable &&
           str_eq(a->default_sql, b->default_sql);
}

static int key_eq(const mig_ddl_key *a, const mig_ddl_key *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return list_eq(a->columns, a->ncolumns, b->columns, b->ncolumns);
}

static int index_eq(const mig_ddl_index *a, const mig_ddl_index *b)
{
    if (!a->unique != !b->unique || !str_eq(a->where_sql, b->where_sql) ||
        !str_eq(a->expression_sql, b->expression_sql))
        return 0;
    return a->expression_sql != NULL || list_eq(a->columns, a->ncolumns, b->columns, b->ncolumns);
}

/* Foreign keys are told apart by what they say, not by their names. */
static int fk_eq(const mig_ddl_foreign_key *a, const mig_ddl_foreign_key *b)
{
    return list_eq(a->columns, a->ncolumns, b->columns, b->ncolumns) &&
           strcmp(a->ref_table, b->ref_table) == 0 &&
           list_eq(a->ref_columns, a->nref_columns, b->ref_columns, b->nref_columns) &&
           strcmp(a->on_delete, b->on_delete) == 0 && strcmp(a->on_update, b->on_update) == 0;
}

static int has_unique(const mig_ddl_table *t, const mig_ddl_key *k)
{
    for (size_t i = 0; t && i < t->nuniques; i++)
        if (key_eq(&t->uniques[i], k))
            return 1;
    return 0;
}

/* The index of t with x's name and x's definition; unnamed ones by definition. */
static int has_index(const mig_ddl_table *t, const mig_ddl_index *x)
{
    for (size_t i = 0; t && i < t->nindexes; i++)
        if (str_eq(t->indexes[i].name, x->name) && index_eq(&t->indexes[i], x))
            return 1;
    return 0;
}

static int has_fk(const mig_ddl_table *t, const mig_ddl_foreign_key *f)
{
    for (size_t i = 0; t && i < t->nforeign_keys; i++)
        if (fk_eq(&t->foreign_keys[i], f))
            return 1;
    return 0;
}

/* ---- data loss ---- */

/* "varchar(20)" -> base "varchar", size 20 (0 when none). */
static void type_parts(const char *type, char *base, size_t blen, long *size)
{
    size_t i = 0;
    while (type[i] && type[i] != '(' && i + 1 < blen) {
        base[i] = (char)((type[i] >= 'A' && type[i] <= 'Z') ? type[i] - 'A' + 'a' : type[i]);
        i++;
    }
    while (i > 0 && base[i - 1] == ' ')
        i--;
    base[i] = '\0';
    const char *p = strchr(type, '(');
    *size = p ? strtol(p + 1, NULL, 10) : 0;
}

static int rank_of(const char *base)
{
    static const char *const ints[] = { "tinyint", "smallint", "mediumint", "int",
                                        "integer", "bigint",   NULL };
    static const int ranks[] = { 1, 2, 3, 4, 4, 5 };
    for (size_t i = 0; ints[i]; i++)
        if (strcmp(base, ints[i]) == 0)
            return ranks[i];
    return 0;
}

/*
 * Does a change of type keep every value? Known widenings only (a longer
 * varchar, varchar to text, a bigger integer); anything else may narrow.
 */
static int widens(const char *from, const char *to)
{
    char bf[64], bt[64];
    long sf, st;
    type_parts(from, bf, sizeof bf, &sf);
    type_parts(to, bt, sizeof bt, &st);
    /* how values are made (identity, AUTO_INCREMENT) is no change to what they hold */
    static const char *const makers[] = { " generated ", " auto_increment", NULL };
    for (size_t i = 0; makers[i]; i++) {
        char *p = strstr(bf, makers[i]), *q = strstr(bt, makers[i]);
        if (p)
            *p = '\0';
        if (q)
            *q = '\0';
    }
    if (strcmp(bf, bt) == 0 && sf == st)
        return 1;
    int textish_f = strstr(bf, "char") != NULL || strcmp(bf, "text") == 0;
    if (strcmp(bt, "text") == 0 && textish_f)
        return 1;
    if (strcmp(bf, bt) == 0 && strstr(bf, "char") != NULL)
        return st == 0 || (sf != 0 && st >= sf);
    int rf = rank_of(bf), rt = rank_of(bt);
    return rf && rt && rt >= rf;
}

/* ---- the diff ---- */

/* Does t point at the table `name` (itself aside)? */
static int references(const mig_ddl_table *t, const char *name)
{
    if (strcmp(t->name, name) == 0)
        return 0;
    for (size_t i = 0; i < t->nforeign_keys; i++)
        if (strcmp(t->foreign_keys[i].ref_table, name) == 0)
            return 1;
    return 0;
}

/*
 * Tables of s not in other, ordered so that one never comes before a table
 * it references (create) or after one (drop: reverse). A cycle is emitted
 * in name order; the database will say what it thinks.
 */
static int table_order(const mig_schema *s, const mig_schema *other, int drop,
                       const mig_ddl_table ***out, size_t *n)
{
    *n = 0;
    const mig_ddl_table **v = calloc(s->ntables + 1, sizeof *v);
    unsigned char *done = calloc(s->ntables + 1, 1);
    if (v == NULL || done == NULL) {
        free(v);
        free(done);
        return -1;
    }
    size_t want = 0;
    for (size_t i = 0; i < s->ntables; i++)
        if (mig_schema_table(other, s->tables[i].name) == NULL)
            want++;
        else
            done[i] = 1;
    while (*n < want) {
        int progress = 0;
        for (size_t i = 0; i < s->ntables; i++) {
            if (done[i])
                continue;
            /* ready when no pending table stands in its way */
            int blocked = 0;
            for (size_t j = 0; j < s->ntables && !blocked; j++) {
                if (done[j] || j == i)
                    continue;
                blocked = drop ? references(&s->tables[j], s->tables[i].name)
                               : references(&s->tables[i], s->tables[j].name);
            }
            if (blocked)
                continue;
            done[i] = 1;
            v[(*n)++] = &s->tables[i];
            progress = 1;
        }
        if (!progress)
            for (size_t i = 0; i < s->ntables; i++)
                if (!done[i]) {
                    done[i] = 1;
                    v[(*n)++] = &s->tables[i];
                    break;
                }
    }
    free(done);
    *out = v;
    return 0;
}

/* A change to out; one to a table that stays also gets the table as it was. */
#define PUSH(kind, t)                                                                                   \
    do {                                                                                                \
        if ((c = push(out, (kind), (t))) == NULL)                                                       \
            goto oom;                                                                                   \
        if ((kind) != MIG_DDL_CREATE_TABLE && (kind) != MIG_DDL_DROP_TABLE)                             \
            c->c.old_table = mig_schema_table(from, (t)->name);                                         \
    } while (0)

/* 0. enum types that come or change, before the columns that use them */
static int enums_come(mig_changes *out, const mig_schema *from, const mig_schema *to)
{
    mig_autogen_change *c;
    for (size_t i = 0; i < to->nenums; i++) {
        const mig_ddl_enum *e = &to->enums[i], *f = mig_schema_enum(from, e->name);
        if (f && list_eq(f->labels, f->nlabels, e->labels, e->nlabels))
            continue;
        if ((c = push(out, f ? MIG_DDL_ALTER_ENUM : MIG_DDL_CREATE_ENUM, NULL)) == NULL)
            return -1;
        c->c.enum_type = e;
        c->c.old_enum = f;
        mig_buf gone = MIG_BUF_INIT;
        for (size_t k = 0; f && k < f->nlabels; k++) {
            size_t j = 0;
            while (j < e->nlabels && strcmp(e->labels[j], f->labels[k]) != 0)
                j++;
            if (j == e->nlabels)
                mig_buf_printf(&gone, "%s'%s'", gone.len ? ", " : "", f->labels[k]);
        }
        if (gone.len)
            c->note = mig_aprintf("enum %s keeps %s: PostgreSQL cannot drop a label in place", e->name,
                                  mig_buf_cstr(&gone));
        mig_buf_release(&gone);
    }
    return 0;
}

/*
 * 1. foreign keys that go from tables that stay (they may point at tables
 * that go); 2. tables that go, referencing ones first; then the indexes
 * and keys that go from tables that stay (a table that went may have
 * pointed at one)
 */
static int drops(mig_changes *out, const mig_schema *from, const mig_schema *to)
{
    mig_autogen_change *c;
    const mig_ddl_table **order = NULL;
    size_t n;
    for (size_t i = 0; i < from->ntables; i++) {
        const mig_ddl_table *f = &from->tables[i], *t = mig_schema_table(to, f->name);
        if (t == NULL)
            continue;
        for (size_t k = 0; k < f->nforeign_keys; k++)
            if (!has_fk(t, &f->foreign_keys[k])) {
                PUSH(MIG_DDL_DROP_FOREIGN_KEY, t);
                c->c.foreign_key = &f->foreign_keys[k];
            }
    }
    if (table_order(from, to, 1, &order, &n) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        PUSH(MIG_DDL_DROP_TABLE, order[i]);
        c->note = mig_aprintf("may lose data: drops table %s and its rows", order[i]->name);
    }
    free(order);
    order = NULL;
    for (size_t i = 0; i < from->ntables; i++) {
        const mig_ddl_table *f = &from->tables[i], *t = mig_schema_table(to, f->name);
        if (t == NULL)
            continue;
        for (size_t k = 0; k < f->nindexes; k++)
            if (!has_index(t, &f->indexes[k])) {
                PUSH(MIG_DDL_DROP_INDEX, t);
                c->c.index = &f->indexes[k];
            }
        for (size_t k = 0; k < f->nuniques; k++)
            if (!has_unique(t, &f->uniques[k])) {
                PUSH(MIG_DDL_DROP_UNIQUE, t);
                c->c.key = &f->uniques[k];
            }
        if (f->primary_key && !key_eq(f->primary_key, t->primary_key)) {
            PUSH(MIG_DDL_DROP_PRIMARY_KEY, t);
            c->c.key = f->primary_key;
        }
    }
    return 0;
oom:
    free(order);
    return -1;
}

/* 3. columns of tables that stay: added, altered, dropped */
static int columns(mig_changes *out, const mig_schema *from, const mig_schema *to)
{
    mig_autogen_change *c;
    for (size_t i = 0; i < to->ntables; i++) {
        const mig_ddl_table *t = &to->tables[i], *f = mig_schema_table(from, t->name);
        if (f == NULL)
            continue;
        for (size_t k = 0; k < t->ncolumns; k++) {
            const mig_ddl_column *old = mig_schema_column(f, t->columns[k].name);
            if (old == NULL) {
                PUSH(MIG_DDL_ADD_COLUMN, t);
                c->c.column = &t->columns[k];
            } else if (!column_eq(old, &t->columns[k])) {
                PUSH(MIG_DDL_ALTER_COLUMN, t);
                c->c.column = &t->columns[k];
                c->c.old_column = old;
                if (strcasecmp(old->type, t->columns[k].type) != 0 &&
                    !widens(old->type, t->columns[k].type))
                    c->note = mig_aprintf("may lose data: changes %s.%s from %s to %s", t->name,
                                          old->name, old->type, t->columns[k].type);
            }
        }
        for (size_t k = 0; k < f->ncolumns; k++)
            if (mig_schema_column(t, f->columns[k].name) == NULL) {
                PUSH(MIG_DDL_DROP_COLUMN, t);
                c->c.column = &f->columns[k];
                c->note = mig_aprintf("may lose data: drops column %s.%s and its data", t->name,
                                      f->columns[k].name);
            }
    }
    return 0;
oom:
    return -1;
}

/*
 * 4. keys that come on tables that stay; 5. tables that come, referenced
 * ones first, after the keys they may point at; 6. indexes (new tables'
 * too), then foreign keys of tables that stay
 */
static int adds(mig_changes *out, const mig_schema *from, const mig_schema *to)
{
    mig_autogen_change *c;
    const mig_ddl_table **order = NULL;
    size_t n;
    for (size_t i = 0; i < to->ntables; i++) {
        const mig_ddl_table *t = &to->tables[i], *f = mig_schema_table(from, t->name);
        if (f == NULL)
            continue;
        if (t->primary_key && !key_eq(f->primary_key, t->primary_key)) {
            PUSH(MIG_DDL_ADD_PRIMARY_KEY, t);
            c->c.key = t->primary_key;
        }
        for (size_t k = 0; k < t->nuniques; k++)
            if (!has_unique(f, &t->uniques[k])) {
                PUSH(MIG_DDL_ADD_UNIQUE, t);
                c->c.key = &t->uniques[k];
            }
    }
    if (table_order(to, from, 0, &order, &n) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        PUSH(MIG_DDL_CREATE_TABLE, order[i]);
    free(order);
    order = NULL;
    for (size_t i = 0; i < to->ntables; i++) {
        const mig_ddl_table *t = &to->tables[i], *f = mig_schema_table(from, t->name);
        for (size_t k = 0; k < t->nindexes; k++)
            if (f == NULL || !has_index(f, &t->indexes[k])) {
                PUSH(MIG_DDL_CREATE_INDEX, t);
                c->c.index = &t->indexes[k];
            }
    }
    for (size_t i = 0; i < to->ntables; i++) {
        const mig_ddl_table *t = &to->tables[i], *f = mig_schema_table(from, t->name);
        if (f == NULL)
            continue;
        for (size_t k = 0; k < t->nforeign_keys; k++)
            if (!has_fk(f, &t->foreign_keys[k])) {
                PUSH(MIG_DDL_ADD_FOREIGN_KEY, t);
                c->c.foreign_key = &t->foreign_keys[k];
            }
    }
    return 0;
oom:
    free(order);
    return -1;
}

/* 7. enum types that go, after the columns that used them */
static int enums_go(mig_changes *out, const mig_schema *from, const mig_schema *to)
{
    mig_autogen_change *c;
    for (size_t i = 0; i < from->nenums; i++)
        if (mig_schema_enum(to, from->enums[i].name) == NULL) {
            if ((c = push(out, MIG_DDL_DROP_ENUM, NULL)) == NULL)
                return -1;
            c->c.enum_type = &from->enums[i];
        }
    return 0;
}

int mig_autogen_diff(mig_changes *out, mig_ctx *ctx, const mig_schema *from, const mig_schema *to)
{
    if (enums_come(out, from, to) || drops(out, from, to) || columns(out, from, to) ||
        adds(out, from, to) || enums_go(out, from, to))
        goto oom;
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i].note == NULL &&
            (out->v[i].c.kind == MIG_DDL_DROP_TABLE || out->v[i].c.kind == MIG_DDL_DROP_COLUMN))
            goto oom;
    return 0;
oom:
    mig_changes_release(out);
    return mig_fail(ctx, MIG_ENOMEM, "out of memory");
}

/* ---- rendering ---- */

static int emit_stmt(void *payload, const char *statement)
{
    mig_buf *b = payload;
    mig_buf_puts(b, statement);
    mig_buf_puts(b, ";\n");
    return b->oom ? 1 : 0;
}

static int emit_none(void *payload, const char *statement)
{
    (void)payload;
    (void)statement;
    return 0;
}

/* Changes made by ALTER TABLE on a table that stays (a rebuild can replace them). */
static int alters_table(mig_ddl_kind k)
{
    return k != MIG_DDL_CREATE_TABLE && k != MIG_DDL_DROP_TABLE && k != MIG_DDL_CREATE_ENUM &&
           k != MIG_DDL_DROP_ENUM && k != MIG_DDL_ALTER_ENUM;
}

static int render_one(mig_ctx *ctx, const mig_plugin *plugin, const mig_ddl_change *c, mig_buf *out)
{
    int supported;
    int rc = mig_plugin_render_ddl(plugin, c, emit_stmt, out, &supported);
    if (out->oom)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (!supported) {
        mig_buf d = MIG_BUF_INIT;
        mig_autogen_describe(&d, c);
        rc = mig_fail(ctx, MIG_EDRIVER, "driver %s cannot write this change: %s", plugin->driver->name,
                      mig_buf_cstr(&d));
        mig_buf_release(&d);
        return rc;
    }
    if (rc != 0)
        return mig_fail(ctx, MIG_EFAIL, "driver %s failed to write a change", plugin->driver->name);
    return 0;
}

int mig_autogen_render(mig_buf *out, mig_ctx *ctx, const mig_plugin *plugin, const mig_changes *ch,
                       const mig_schema *from, const mig_schema *to)
{
    /* tables whose ALTER the driver refuses: rebuilt once, where their first change was */
    const char **rebuild = calloc(ch->n + 1, sizeof *rebuild);
    unsigned char *done = calloc(ch->n + 1, 1);
    size_t nrebuild = 0;
    int rc = 0;
    if (rebuild == NULL || done == NULL) {
        free(rebuild);
        free(done);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ch->n; i++) {
        const mig_ddl_change *c = &ch->v[i].c;
        int supported = 1;
        if (!alters_table(c->kind) ||
            (mig_plugin_render_ddl(plugin, c, emit_none, NULL, &supported), supported))
            continue;
        int seen = 0;
        for (size_t k = 0; k < nrebuild; k++)
            seen |= strcmp(rebuild[k], c->table->name) == 0;
        if (!seen)
            rebuild[nrebuild++] = c->table->name;
    }
    for (size_t i = 0; rc == 0 && i < ch->n; i++) {
        const mig_autogen_change *a = &ch->v[i];
        size_t k = nrebuild;
        if (alters_table(a->c.kind))
            for (k = 0; k < nrebuild && strcmp(rebuild[k], a->c.table->name) != 0; k++)
                ;
        if (k == nrebuild) {
            if (a->note)
                mig_buf_printf(out, "-- %s\n", a->note);
            rc = render_one(ctx, plugin, &a->c, out);
            continue;
        }
        if (done[k])
            continue; /* the rebuild made this change already */
        done[k] = 1;
        /* the notes of every change the rebuild stands for, then the rebuild */
        for (size_t j = i; j < ch->n; j++)
            if (alters_table(ch->v[j].c.kind) && strcmp(ch->v[j].c.table->name, rebuild[k]) == 0 &&
                ch->v[j].note)
                mig_buf_printf(out, "-- %s\n", ch->v[j].note);
        mig_ddl_change r = { 0 };
        r.kind = MIG_DDL_REBUILD_TABLE;
        r.table = mig_schema_table(to, rebuild[k]);
        r.old_table = mig_schema_table(from, rebuild[k]);
        if (r.table == NULL || r.old_table == NULL)
            rc = mig_fail(ctx, MIG_EFAIL, "table %s to rebuild is missing", rebuild[k]);
        else
            rc = render_one(ctx, plugin, &r, out);
    }
    free(rebuild);
    free(done);
    return rc;
}

/* ---- describing ---- */

static void put_list(mig_buf *b, const char *const *v, size_t n)
{
    mig_buf_putc(b, '(');
    for (size_t i = 0; i < n; i++)
        mig_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
    mig_buf_putc(b, ')');
}

static void put_column(mig_buf *b, const mig_ddl_column *c)
{
    mig_buf_printf(b, "%s%s", c->type, c->nullable ? "" : " not null");
    if (c->default_sql)
        mig_buf_printf(b, " default %s", c->default_sql);
}

void mig_autogen_describe(mig_buf *b, const mig_ddl_change *c)
{
    const char *t = c->table ? c->table->name : "?";
    switch (c->kind) {
    case MIG_DDL_CREATE_TABLE:
        mig_buf_printf(b, "add table %s", t);
        break;
    case MIG_DDL_DROP_TABLE:
        mig_buf_printf(b, "drop table %s", t);
        break;
    case MIG_DDL_ADD_COLUMN:
        mig_buf_printf(b, "add column %s.%s ", t, c->column->name);
        put_column(b, c->column);
        break;
    case MIG_DDL_DROP_COLUMN:
        mig_buf_printf(b, "drop column %s.%s", t, c->column->name);
        break;
    case MIG_DDL_ALTER_COLUMN:
        mig_buf_printf(b, "alter column %s.%s: ", t, c->column->name);
        put_column(b, c->old_column);
        mig_buf_puts(b, " -> ");
        put_column(b, c->column);
        break;
    case MIG_DDL_ADD_PRIMARY_KEY:
    case MIG_DDL_DROP_PRIMARY_KEY:
        mig_buf_printf(b, "%s primary key on %s ", c->kind == MIG_DDL_ADD_PRIMARY_KEY ? "add" : "drop", t);
        put_list(b, c->key->columns, c->key->ncolumns);
        break;
    case MIG_DDL_ADD_UNIQUE:
    case MIG_DDL_DROP_UNIQUE:
        mig_buf_printf(b, "%s unique constraint on %s ", c->kind == MIG_DDL_ADD_UNIQUE ? "add" : "drop",
                       t);
        put_list(b, c->key->columns, c->key->ncolumns);
        break;
    case MIG_DDL_CREATE_INDEX:
    case MIG_DDL_DROP_INDEX:
        mig_buf_printf(b, "%s %sindex %s on %s ", c->kind == MIG_DDL_CREATE_INDEX ? "add" : "drop",
                       c->index->unique ? "unique " : "", c->index->name ? c->index->name : "", t);
        if (c->index->expression_sql)
            mig_buf_printf(b, "(%s)", c->index->expression_sql);
        else
            put_list(b, c->index->columns, c->index->ncolumns);
        if (c->index->where_sql)
            mig_buf_printf(b, " where %s", c->index->where_sql);
        break;
    case MIG_DDL_ADD_FOREIGN_KEY:
    case MIG_DDL_DROP_FOREIGN_KEY:
        mig_buf_printf(b, "%s foreign key on %s ", c->kind == MIG_DDL_ADD_FOREIGN_KEY ? "add" : "drop", t);
        put_list(b, c->foreign_key->columns, c->foreign_key->ncolumns);
        mig_buf_printf(b, " -> %s ", c->foreign_key->ref_table);
        put_list(b, c->foreign_key->ref_columns, c->foreign_key->nref_columns);
        break;
    case MIG_DDL_REBUILD_TABLE:
        mig_buf_printf(b, "rebuild table %s", t);
        break;
    case MIG_DDL_CREATE_ENUM:
    case MIG_DDL_ALTER_ENUM:
        mig_buf_printf(b, "%s enum %s ", c->kind == MIG_DDL_CREATE_ENUM ? "add" : "alter",
                       c->enum_type->name);
        if (c->old_enum) {
            put_list(b, c->old_enum->labels, c->old_enum->nlabels);
            mig_buf_puts(b, " -> ");
        }
        put_list(b, c->enum_type->labels, c->enum_type->nlabels);
        break;
    case MIG_DDL_DROP_ENUM:
        mig_buf_printf(b, "drop enum %s", c->enum_type->name);
        break;
    }
}

/* ---- loading both sides ---- */

/* The [autogenerate] target's path (caller frees), or NULL when not configured. */
static int target_path(mig_ctx *ctx, char **out)
{
    char *val = NULL;
    *out = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "autogenerate", "target", &val);
    if (rc || val == NULL || *val == '\0') {
        free(val);
        return rc;
    }
    *out = mig_path_join(mig_config_dir(ctx->cfg), val);
    free(val);
    return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
}

int mig_autogen_load(mig_ctx *ctx, mig_session *s, int *configured, mig_schema **live, mig_schema **target)
{
    char *path = NULL, *ddl = NULL;
    size_t len = 0;
    *configured = 0;
    *live = *target = NULL;
    int rc = target_path(ctx, &path);
    if (rc || path == NULL)
        return rc;
    *configured = 1;
    int e = mig_file_read(path, &ddl, &len);
    if (e != 0) {
        rc = mig_fail_os(ctx, MIG_ECONFIG, e, "cannot read the [autogenerate] target %s: %s", path,
                         mig_file_strerror(e));
        free(path);
        return rc;
    }
    const char *skip[] = { s->st.version_name, s->st.history_name, MIG_BACKFILL_TABLE, NULL };
    rc = mig_schema_load(live, ctx, s->db, skip);
    if (rc == 0) {
        rc = mig_schema_load_ddl(target, ctx, s->db, ddl, len, skip);
        if (rc) {
            /* the database's words, about the user's file */
            mig_error_where(ctx, path, 0);
            mig_error_hint(ctx, "the [autogenerate] target %s must run on an empty database", path);
        }
    }
    if (rc) {
        mig_schema_free(*live);
        *live = NULL;
    }
    free(ddl);
    free(path);
    return rc;
}

/* ---- mig revision --autogenerate ---- */

/* Refuse to compare a database that lacks revisions: they would be written twice. */
static int require_up_to_date(mig_ctx *ctx, mig_session *s)
{
    mig_graph *g = NULL;
    mig_strvec heads = MIG_STRVEC_INIT;
    size_t pending = 0;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc == 0)
        rc = mig_state_read_heads(&s->st, ctx, s->db, &heads);
    if (rc == 0)
        rc = mig_graph_pending(&pending, ctx, g, (const char *const *)heads.v, heads.n);
    mig_strvec_release(&heads);
    if (rc == 0 && pending > 0) {
        rc = mig_fail(ctx, MIG_EUSAGE, "the database is not up to date: %zu revision(s) not applied",
                      pending);
        mig_error_hint(ctx, "run `mig upgrade heads` first, then autogenerate the next revision");
    }
    return rc;
}

int mig_autogenerate(mig_ctx *ctx, const mig_revision_opts *o, unsigned flags, char **path_out)
{
    int from_empty = (flags & MIG_AUTOGEN_FROM_EMPTY) != 0;
    mig_error_clear(ctx);
    *path_out = NULL;
    if (o->lua)
        return mig_fail(ctx, MIG_EUSAGE, "--autogenerate writes SQL revisions: drop --lua");
    mig_session s;
    mig_schema *live = NULL, *target = NULL, *empty = NULL;
    mig_changes up = MIG_CHANGES_INIT, down = MIG_CHANGES_INIT;
    mig_buf up_sql = MIG_BUF_INIT, down_sql = MIG_BUF_INIT;
    int configured = 0;
    int rc = mig_session_open(&s, ctx);
    if (rc)
        return rc;
    if (!from_empty) {
        rc = require_up_to_date(ctx, &s);
        if (rc == 0)
            rc = mig_autogen_load(ctx, &s, &configured, &live, &target);
        if (rc == 0 && !configured) {
            rc = mig_fail(ctx, MIG_ECONFIG,
                          "autogenerate needs a target schema: [autogenerate] target is not set");
            mig_error_hint(ctx, "add to mig.ini:  [autogenerate]  target = schema.sql  (plain DDL)");
        }
    } else {
        const char *skip[] = { s.st.version_name, s.st.history_name, MIG_BACKFILL_TABLE, NULL };
        rc = mig_schema_load(&target, ctx, s.db, skip);
        if (rc == 0 && mig_schema_new(&empty) != 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        live = empty;
    }
    if (rc == 0)
        rc = mig_autogen_diff(&up, ctx, live, target);
    if (rc == 0)
        rc = mig_autogen_diff(&down, ctx, target, live);
    if (rc == 0)
        rc = mig_autogen_render(&up_sql, ctx, s.plugin, &up, live, target);
    if (rc == 0)
        rc = mig_autogen_render(&down_sql, ctx, s.plugin, &down, target, live);
    mig_session_close(&s);
    if (rc == 0 && up.n == 0) {
        if (from_empty)
            mig_log(ctx, MIG_LOG_INFO,
                    "the database has no tables: nothing to adopt, no revision written");
        else
            mig_log(ctx, MIG_LOG_INFO,
                    "no differences between the database and the target schema: "
                    "no revision written");
    } else if (rc == 0) {
        mig_log(ctx, MIG_LOG_INFO, "detected %zu change%s", up.n, up.n == 1 ? "" : "s");
        mig_revision_opts ro = *o;
        ro.upgrade_sql = mig_buf_cstr(&up_sql);
        ro.downgrade_sql = mig_buf_cstr(&down_sql);
        rc = mig_revision_new(ctx, &ro, path_out);
    }
    mig_changes_release(&up);
    mig_changes_release(&down);
    mig_buf_release(&up_sql);
    mig_buf_release(&down_sql);
    mig_schema_free(live);
    mig_schema_free(target);
    return rc;
}
