/* The ABI 1 schema sink on top of ABI 2's (drv_abi1.h). */
#include "drv_abi1.h"

#include <stdlib.h>
#include <string.h>

/* A split list: pointers into the driver's string, on the stack when short. */
typedef struct names {
    const char *small[16];
    const char **v;
    size_t n;
} names;

/* 0, or -1 when out of memory. */
static int split(names *l, const char *list)
{
    size_t n = 0;
    for (const char *p = list; p != NULL && *p != '\0'; p += strlen(p) + 1)
        n++;
    l->n = n;
    l->v = l->small;
    if (n > sizeof l->small / sizeof *l->small && (l->v = malloc(n * sizeof *l->v)) == NULL)
        return -1;
    n = 0;
    for (const char *p = list; p != NULL && *p != '\0'; p += strlen(p) + 1)
        l->v[n++] = p;
    return 0;
}

static void release(names *l)
{
    if (l->v != l->small)
        free((void *)l->v);
}

static int b_table(void *payload, const char *table)
{
    const mig_abi1_bridge *b = payload;
    return b->sink->table(b->payload, table);
}

static int b_column(void *payload, const char *table, const char *column, const char *type, int nullable,
                    const char *default_sql, int position)
{
    const mig_abi1_bridge *b = payload;
    return b->sink->column(b->payload, table, column, type, nullable, default_sql, position);
}

static int b_primary_key(void *payload, const char *table, const char *name, const char *columns)
{
    const mig_abi1_bridge *b = payload;
    names c;
    int rc = split(&c, columns) ? 1 : b->sink->primary_key(b->payload, table, name, c.v, c.n);
    release(&c);
    return rc;
}

static int b_unique(void *payload, const char *table, const char *name, const char *columns)
{
    const mig_abi1_bridge *b = payload;
    names c;
    int rc = split(&c, columns) ? 1 : b->sink->unique(b->payload, table, name, c.v, c.n);
    release(&c);
    return rc;
}

static int b_index(void *payload, const char *table, const char *name, int unique, const char *columns,
                   const char *expression_sql, const char *where_sql)
{
    const mig_abi1_bridge *b = payload;
    names c;
    int rc = split(&c, columns)
                 ? 1
                 : b->sink->index(b->payload, table, name, unique, c.v, c.n, expression_sql, where_sql);
    release(&c);
    return rc;
}

static int b_foreign_key(void *payload, const char *table, const char *name, const char *columns,
                         const char *ref_table, const char *ref_columns, const char *on_delete,
                         const char *on_update)
{
    const mig_abi1_bridge *b = payload;
    names c, r;
    int rc = 1;
    int oc = split(&c, columns), orr = split(&r, ref_columns);
    if (oc == 0 && orr == 0)
        rc = b->sink->foreign_key(b->payload, table, name, c.v, c.n, ref_table, r.v, r.n, on_delete,
                                  on_update);
    release(&c);
    release(&r);
    return rc;
}

static int b_enum_type(void *payload, const char *name, const char *labels)
{
    const mig_abi1_bridge *b = payload;
    names l;
    int rc = split(&l, labels) ? 1 : b->sink->enum_type(b->payload, name, l.v, l.n);
    release(&l);
    return rc;
}

static int b_sequence(void *payload, const char *name, const char *owner_table, const char *owner_column)
{
    const mig_abi1_bridge *b = payload;
    return b->sink->sequence(b->payload, name, owner_table, owner_column);
}

const mig_schema_sink *mig_abi1_sink_bridge(mig_abi1_bridge *b, const mig_schema_sink *sink, void **payload)
{
    memset(b, 0, sizeof *b);
    b->sink = sink;
    b->payload = *payload;
    /* a slot the sink leaves NULL stays NULL: drivers skip those calls */
    b->legacy.table = sink->table ? b_table : NULL;
    b->legacy.column = sink->column ? b_column : NULL;
    b->legacy.primary_key = sink->primary_key ? b_primary_key : NULL;
    b->legacy.unique = sink->unique ? b_unique : NULL;
    b->legacy.index = sink->index ? b_index : NULL;
    b->legacy.foreign_key = sink->foreign_key ? b_foreign_key : NULL;
    b->legacy.enum_type = sink->enum_type ? b_enum_type : NULL;
    b->legacy.sequence = sink->sequence ? b_sequence : NULL;
    *payload = b;
    /* same layout, eight function pointers: only the list arguments' types differ */
    return (const mig_schema_sink *)(const void *)&b->legacy;
}
