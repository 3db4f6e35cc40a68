/*
 * Generic SQL statement splitter, driven by a driver's dialect flags.
 * Used when the core must run or count statements one by one (revisions
 * outside a transaction, MySQL resume, error lines) and the driver has no
 * statement_end slot of its own.
 *
 * It understands: 'single' and "double" quoted strings (doubled quotes),
 * `backticks` (MySQL), backslash escapes when the dialect has them,
 * -- line comments, # comments (MySQL), nested block comments (PostgreSQL)
 * or flat ones, $tag$ dollar quoting (PostgreSQL), and BEGIN ... END
 * bodies of CREATE TRIGGER (SQLite, MySQL).
 */
#ifndef MIG_SQLSPLIT_H
#define MIG_SQLSPLIT_H

#include <stddef.h>

#include "mig/driver.h"

/*
 * Length of the first statement in sql[0..len), including its ';' (or up
 * to len when the last statement has none). *empty is set when the
 * statement holds only whitespace and comments. Returns 0 when len is 0.
 */
size_t mig_sql_statement_end(const mig_dialect *d, const char *sql, size_t len, int *empty);

/* Is sql[0..len) only whitespace, comments and stray semicolons? */
int mig_sql_is_blank(const mig_dialect *d, const char *sql, size_t len);

#endif
