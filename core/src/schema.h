/*
 * The schema model for autogenerate: the tables of one database schema as
 * the driver's introspection reports them, in the mig_ddl_* shapes of
 * driver.h so that a driver renders straight from it. The live database
 * and the [autogenerate] target are both read through a driver, so both
 * sides of a comparison are spelled by the same database.
 */
#ifndef MIG_SCHEMA_H
#define MIG_SCHEMA_H

#include <stddef.h>

#include "drv.h"
#include "mig/driver.h"

typedef struct mig_ctx mig_ctx;

/* Owns every string and array it points to; tables in name order. */
typedef struct mig_schema {
    mig_ddl_table *tables;
    size_t ntables;
    mig_ddl_enum *enums; /* PostgreSQL enum types, in name order */
    size_t nenums;
} mig_schema;

/*
 * Read the connection's current schema (mig_schema_load) or the target
 * DDL in the driver's scratch place (mig_schema_load_ddl). Tables named in
 * skip (NULL-terminated, may be NULL: mig's own version and history
 * tables) are left out. *out is the caller's, freed with mig_schema_free.
 */
int mig_schema_load(mig_schema **out, mig_ctx *ctx, mig_db *db, const char *const *skip);
int mig_schema_load_ddl(mig_schema **out, mig_ctx *ctx, mig_db *db, const char *ddl, size_t len,
                        const char *const *skip);
/* An empty schema (autogenerate --from-empty compares against it); 0 or MIG_ENOMEM. */
int mig_schema_new(mig_schema **out);
void mig_schema_free(mig_schema *s);

/* A table by name, or NULL; borrowed from s. */
const mig_ddl_table *mig_schema_table(const mig_schema *s, const char *name);
const mig_ddl_column *mig_schema_column(const mig_ddl_table *t, const char *name);
const mig_ddl_enum *mig_schema_enum(const mig_schema *s, const char *name);

#endif
