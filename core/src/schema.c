/*
 * Building a mig_schema from a driver's introspection callbacks, and
 * freeing it. The public shapes (driver.h) hold const pointers because a
 * renderer only reads them; this file alone writes them, so it casts the
 * const away where it fills or frees what it allocated itself.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "schema.h"

/* The sink's state: the model being filled and the tables to skip. */
typedef struct builder {
    mig_schema *s;
    const char *const *skip;
    int oom;
} builder;

/* The sink's failure value: positive, so the driver passes it back as is. */
#define SINK_OOM 1

static void free_list(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)v[i]);
    free((void *)v);
}

static void free_key(const mig_ddl_key *k)
{
    free((char *)k->name);
    free_list(k->columns, k->ncolumns);
}

static void free_table(mig_ddl_table *t)
{
    for (size_t i = 0; i < t->ncolumns; i++) {
        free((char *)t->columns[i].name);
        free((char *)t->columns[i].type);
        free((char *)t->columns[i].default_sql);
    }
    free((void *)t->columns);
    if (t->primary_key) {
        free_key(t->primary_key);
        free((void *)t->primary_key);
    }
    for (size_t i = 0; i < t->nuniques; i++)
        free_key(&t->uniques[i]);
    free((void *)t->uniques);
    for (size_t i = 0; i < t->nindexes; i++) {
        const mig_ddl_index *x = &t->indexes[i];
        free((char *)x->name);
        free_list(x->columns, x->ncolumns);
        free((char *)x->expression_sql);
        free((char *)x->where_sql);
    }
    free((void *)t->indexes);
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        const mig_ddl_foreign_key *f = &t->foreign_keys[i];
        free((char *)f->name);
        free_list(f->columns, f->ncolumns);
        free((char *)f->ref_table);
        free_list(f->ref_columns, f->nref_columns);
        free((char *)f->on_delete);
        free((char *)f->on_update);
    }
    free((void *)t->foreign_keys);
    free((char *)t->name);
}

void mig_schema_free(mig_schema *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ntables; i++)
        free_table(&s->tables[i]);
    free(s->tables);
    for (size_t i = 0; i < s->nenums; i++) {
        free((char *)s->enums[i].name);
        free_list(s->enums[i].labels, s->enums[i].nlabels);
    }
    free(s->enums);
    free(s);
}

int mig_schema_new(mig_schema **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : MIG_ENOMEM;
}

const mig_ddl_table *mig_schema_table(const mig_schema *s, const char *name)
{
    for (size_t i = 0; s && i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

const mig_ddl_enum *mig_schema_enum(const mig_schema *s, const char *name)
{
    for (size_t i = 0; s && i < s->nenums; i++)
        if (strcmp(s->enums[i].name, name) == 0)
            return &s->enums[i];
    return NULL;
}

const mig_ddl_column *mig_schema_column(const mig_ddl_table *t, const char *name)
{
    for (size_t i = 0; t && i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0)
            return &t->columns[i];
    return NULL;
}

/* A copy of s (NULL stays NULL); sets b->oom when it cannot. */
static char *dup(builder *b, const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        b->oom = 1;
    return d;
}

/* A list of names from the sink, as an array of copies. */
static const char *const *copy_list(builder *b, const char *const *list, size_t n, size_t *out_n)
{
    *out_n = 0;
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL) {
        b->oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = dup(b, list[i]);
    *out_n = n;
    return (const char *const *)v;
}

static int skipped(const builder *b, const char *table)
{
    for (size_t i = 0; b->skip && b->skip[i]; i++)
        if (strcmp(b->skip[i], table) == 0)
            return 1;
    return 0;
}

/* The table being reported: drivers report one table's parts together. */
static mig_ddl_table *find(builder *b, const char *table)
{
    mig_schema *s = b->s;
    if (skipped(b, table))
        return NULL;
    for (size_t i = s->ntables; i-- > 0;)
        if (strcmp(s->tables[i].name, table) == 0)
            return &s->tables[i];
    return NULL;
}

/* Grow an array of n elements of size sz by one zeroed element. */
static void *grow(builder *b, const void *arr, size_t n, size_t sz)
{
    char *p = realloc((void *)arr, (n + 1) * sz);
    if (p == NULL) {
        b->oom = 1;
        return NULL;
    }
    memset(p + n * sz, 0, sz);
    return p;
}

/*
 * Append a zeroed element to arr, of n elements (both lvalues, n counts
 * it): el points at it, or is NULL (out of memory) with arr unchanged.
 */
#define APPEND(el, b, arr, n)                                                                           \
    do {                                                                                                \
        (el) = grow((b), (arr), (n), sizeof *(arr));                                                    \
        if ((el) != NULL) {                                                                             \
            (arr) = (el);                                                                               \
            (el) += (n)++;                                                                              \
        }                                                                                               \
    } while (0)

static int on_table(void *payload, const char *table)
{
    builder *b = payload;
    if (skipped(b, table))
        return 0;
    mig_ddl_table *t;
    APPEND(t, b, b->s->tables, b->s->ntables);
    if (t == NULL)
        return SINK_OOM;
    t->name = dup(b, table);
    return b->oom ? SINK_OOM : 0;
}

static int on_column(void *payload, const char *table, const char *column, const char *type,
                     int nullable, const char *default_sql, int position)
{
    builder *b = payload;
    (void)position; /* columns are compared by name, not place */
    mig_ddl_table *t = find(b, table);
    if (t == NULL)
        return 0;
    mig_ddl_column *c;
    APPEND(c, b, t->columns, t->ncolumns);
    if (c == NULL)
        return SINK_OOM;
    c->name = dup(b, column);
    c->type = dup(b, type ? type : "");
    c->nullable = nullable;
    c->default_sql = dup(b, default_sql);
    return b->oom ? SINK_OOM : 0;
}

static int on_primary_key(void *payload, const char *table, const char *name, const char *const *columns,
                          size_t ncolumns)
{
    builder *b = payload;
    mig_ddl_table *t = find(b, table);
    if (t == NULL || t->primary_key != NULL)
        return 0;
    mig_ddl_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return SINK_OOM;
    t->primary_key = k;
    k->name = dup(b, name);
    k->columns = copy_list(b, columns, ncolumns, &k->ncolumns);
    return b->oom ? SINK_OOM : 0;
}

static int on_unique(void *payload, const char *table, const char *name, const char *const *columns,
                     size_t ncolumns)
{
    builder *b = payload;
    mig_ddl_table *t = find(b, table);
    if (t == NULL)
        return 0;
    mig_ddl_key *k;
    APPEND(k, b, t->uniques, t->nuniques);
    if (k == NULL)
        return SINK_OOM;
    k->name = dup(b, name);
    k->columns = copy_list(b, columns, ncolumns, &k->ncolumns);
    return b->oom ? SINK_OOM : 0;
}

static int on_index(void *payload, const char *table, const char *name, int unique,
                    const char *const *columns, size_t ncolumns, const char *expression_sql,
                    const char *where_sql)
{
    builder *b = payload;
    mig_ddl_table *t = find(b, table);
    if (t == NULL)
        return 0;
    mig_ddl_index *x;
    APPEND(x, b, t->indexes, t->nindexes);
    if (x == NULL)
        return SINK_OOM;
    x->name = dup(b, name);
    x->unique = unique != 0;
    x->columns = copy_list(b, columns, ncolumns, &x->ncolumns);
    x->expression_sql = dup(b, expression_sql);
    x->where_sql = dup(b, where_sql);
    return b->oom ? SINK_OOM : 0;
}

/* "NO ACTION" when the database says nothing, upper case always. */
static char *action(builder *b, const char *a)
{
    char *d = dup(b, a && *a ? a : "NO ACTION");
    for (char *p = d; p && *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return d;
}

static int on_foreign_key(void *payload, const char *table, const char *name, const char *const *columns,
                          size_t ncolumns, const char *ref_table, const char *const *ref_columns,
                          size_t nref_columns, const char *on_delete, const char *on_update)
{
    builder *b = payload;
    mig_ddl_table *t = find(b, table);
    if (t == NULL)
        return 0;
    mig_ddl_foreign_key *f;
    APPEND(f, b, t->foreign_keys, t->nforeign_keys);
    if (f == NULL)
        return SINK_OOM;
    f->name = dup(b, name);
    f->columns = copy_list(b, columns, ncolumns, &f->ncolumns);
    f->ref_table = dup(b, ref_table);
    f->ref_columns = copy_list(b, ref_columns, nref_columns, &f->nref_columns);
    f->on_delete = action(b, on_delete);
    f->on_update = action(b, on_update);
    return b->oom ? SINK_OOM : 0;
}

static int on_enum(void *payload, const char *name, const char *const *labels, size_t nlabels)
{
    builder *b = payload;
    mig_ddl_enum *e;
    APPEND(e, b, b->s->enums, b->s->nenums);
    if (e == NULL)
        return SINK_OOM;
    e->name = dup(b, name);
    e->labels = copy_list(b, labels, nlabels, &e->nlabels);
    return b->oom ? SINK_OOM : 0;
}

static const mig_schema_sink sink = {
    .table = on_table,
    .column = on_column,
    .primary_key = on_primary_key,
    .unique = on_unique,
    .index = on_index,
    .foreign_key = on_foreign_key,
    .enum_type = on_enum,
    /* sequences are not compared: a column's own comes with its serial type */
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const mig_ddl_table *)a)->name, ((const mig_ddl_table *)b)->name);
}

static int load(mig_schema **out, mig_ctx *ctx, mig_db *db, const char *ddl, size_t len,
                const char *const *skip)
{
    *out = NULL;
    builder b = { NULL, skip, 0 };
    if (mig_schema_new(&b.s) != 0)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = ddl ? mig_db_introspect_ddl(db, ctx, ddl, len, &sink, &b)
                 : mig_db_introspect(db, ctx, &sink, &b);
    if (rc > 0 || (rc == 0 && b.oom))
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc) {
        mig_schema_free(b.s);
        return rc;
    }
    if (b.s->ntables > 1)
        qsort(b.s->tables, b.s->ntables, sizeof *b.s->tables, by_name);
    *out = b.s;
    return 0;
}

int mig_schema_load(mig_schema **out, mig_ctx *ctx, mig_db *db, const char *const *skip)
{
    return load(out, ctx, db, NULL, 0, skip);
}

int mig_schema_load_ddl(mig_schema **out, mig_ctx *ctx, mig_db *db, const char *ddl, size_t len,
                        const char *const *skip)
{
    return load(out, ctx, db, ddl ? ddl : "", len, skip);
}
