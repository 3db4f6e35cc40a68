/*
 * Autogenerate: the difference between two schema models as an ordered
 * list of changes, and that list rendered through the driver. The diff
 * knows no database: what a database cannot ALTER is the renderer's to
 * refuse, and the table is then rebuilt in one step (see render).
 */
#ifndef MIG_AUTOGEN_H
#define MIG_AUTOGEN_H

#include "buf.h"
#include "drv.h"
#include "schema.h"

typedef struct mig_ctx mig_ctx;

/* One change, pointing into the two models it came from; note may be NULL. */
typedef struct mig_autogen_change {
    mig_ddl_change c;
    char *note; /* a comment for the reader ("may lose data: ..."), or NULL */
} mig_autogen_change;

typedef struct mig_changes {
    mig_autogen_change *v;
    size_t n, cap;
} mig_changes;

#define MIG_CHANGES_INIT                                                                                \
    {                                                                                                   \
        NULL, 0, 0                                                                                      \
    }

/*
 * The changes that take `from` to `to`, in an order the database accepts:
 * enum types are created or extended first, foreign keys that go dropped, then tables (referencing before
 * referenced), then indexes and keys that go; columns are added, altered
 * and dropped; keys come on tables that stay, new tables are created
 * (referenced first), indexes and foreign keys come, and enum types that
 * go are dropped last. Valid while both models live.
 */
int mig_autogen_diff(mig_changes *out, mig_ctx *ctx, const mig_schema *from, const mig_schema *to);
void mig_changes_release(mig_changes *ch);

/*
 * Render the changes as SQL statements, each ending ";\n", with a
 * comment line ("-- may lose data: ...") before the statements of a change
 * that may lose data or cannot be made whole. A table with a change the
 * driver refuses (not supported) is rebuilt by one MIG_DDL_REBUILD_TABLE
 * instead.
 */
int mig_autogen_render(mig_buf *out, mig_ctx *ctx, const mig_plugin *plugin, const mig_changes *ch,
                       const mig_schema *from, const mig_schema *to);

/* One line that says what a change does ("add column users.email varchar(80)"). */
void mig_autogen_describe(mig_buf *out, const mig_ddl_change *c);

/*
 * The live schema and the [autogenerate] target loaded through db (the
 * version and history tables left out). *configured = 0 and nothing
 * loaded when there is no [autogenerate] target.
 */
struct mig_session;
int mig_autogen_load(mig_ctx *ctx, struct mig_session *s, int *configured, mig_schema **live,
                     mig_schema **target);

#endif
