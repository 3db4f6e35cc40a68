/*
 * The schema sink as a driver built for ABI 1 calls it. ABI 1's sink took
 * each list of names as one NUL-separated, double-NUL-terminated string;
 * ABI 2's takes an array and its count. plugin.c hands such a driver this
 * bridge instead of the core's sink: it splits the lists and passes them on.
 */
#ifndef MIG_DRV_ABI1_H
#define MIG_DRV_ABI1_H

#include "mig/driver.h"

/* struct mig_schema_sink of ABI 1: the same slots, lists as strings. */
typedef struct mig_abi1_sink {
    int (*table)(void *payload, const char *table);
    int (*column)(void *payload, const char *table, const char *column, const char *type, int nullable,
                  const char *default_sql, int position);
    int (*primary_key)(void *payload, const char *table, const char *name, const char *columns);
    int (*unique)(void *payload, const char *table, const char *name, const char *columns);
    int (*index)(void *payload, const char *table, const char *name, int unique, const char *columns,
                 const char *expression_sql, const char *where_sql);
    int (*foreign_key)(void *payload, const char *table, const char *name, const char *columns,
                       const char *ref_table, const char *ref_columns, const char *on_delete,
                       const char *on_update);
    int (*enum_type)(void *payload, const char *name, const char *labels);
    int (*sequence)(void *payload, const char *name, const char *owner_table, const char *owner_column);
} mig_abi1_sink;

/* Lives on the caller's stack for one introspect call. */
typedef struct mig_abi1_bridge {
    mig_abi1_sink legacy;
    const mig_schema_sink *sink;
    void *payload;
} mig_abi1_bridge;

/*
 * Set b up to pass an ABI 1 driver's calls on to sink; returns the sink to
 * hand the driver (with b as its payload, set in *payload). A list that
 * cannot be split for want of memory stops the walk with 1, which the
 * sink's owner takes as out of memory, as it does its own failures.
 */
const mig_schema_sink *mig_abi1_sink_bridge(mig_abi1_bridge *b, const mig_schema_sink *sink,
                                            void **payload);

#endif
