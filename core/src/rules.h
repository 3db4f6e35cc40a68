/*
 * Rules about revision files: what a hand-written revision most often gets
 * wrong. Each has a stable id and name, kept here once, so `mig check`,
 * `mig downgrade` and a linter say the same thing under the same id.
 */
#ifndef MIG_RULES_H
#define MIG_RULES_H

#include "buf.h"
#include "revfile.h"
#include "sqlsplit.h"

typedef struct mig_rule {
    const char *id;   /* "MIG001": stable, never reused */
    const char *name; /* "empty-downgrade" */
} mig_rule;

/*
 * MIG001 empty-downgrade: a SQL revision whose downgrade section is there
 * but holds no statement while its upgrade holds some, so downgrading
 * through it undoes nothing. (A missing section is an error of its own; a
 * Lua revision's downgrade is code, which is not judged here; a merge's
 * empty downgrade matches its empty upgrade.)
 */
extern const mig_rule mig_rule_empty_downgrade;
int mig_rule_empty_downgrade_hits(const mig_rev *rev, const mig_revbody *b, const mig_dialect *d);
/* "no downgrade in a3f0c1d2e3f4 add email" */
void mig_rule_empty_downgrade_say(mig_buf *out, const mig_rev *rev);

/*
 * MIG002 destructive-downgrade: a downgrade section that drops a table or
 * a column, or deletes rows: downgrading loses the data written since.
 * Returns the 0-based index of the first such statement + 1, 0 if none.
 */
extern const mig_rule mig_rule_destructive_downgrade;
size_t mig_rule_destructive_downgrade_hits(const mig_revbody *b, const mig_dialect *d, size_t *offset);

/* MIG003 lua-not-analysed: a Lua revision's SQL is only known when it runs. */
extern const mig_rule mig_rule_lua_not_analysed;

#endif
