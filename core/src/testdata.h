/*
 * mig test --data: a few generated rows in the tables a revision touched,
 * put there before its downgrade, so a downgrade that only works on empty
 * tables is caught.
 */
#ifndef MIG_TESTDATA_H
#define MIG_TESTDATA_H

#include "buf.h"
#include "drv.h"
#include "schema.h"

/*
 * Insert rows into every table of `after` that the change from `before`
 * touched (new, or with a change of its own): values that fit the column
 * types, every NOT NULL column filled, foreign keys pointing at rows that
 * exist (referenced tables first), unique columns distinct (from
 * *counter, which goes up). A table that cannot be filled is named in
 * notes (one line each) and left empty: the generator's limits are not the
 * revision's fault. Returns 0, or MIG_ENOMEM.
 */
int mig_testdata_fill(mig_ctx *ctx, mig_db *db, const mig_plugin *plugin, const mig_schema *before,
                      const mig_schema *after, unsigned *counter, mig_buf *notes);

#endif
