/*
 * PostgreSQL lexical rules, as far as mig needs them: where a statement
 * ends, where the `?` placeholders are, and what kind of statement a query
 * is. Pure functions over bytes, no connection.
 */
#ifndef MIG_PG_LEX_H
#define MIG_PG_LEX_H

#include <stddef.h>

/*
 * Length of the first statement in sql[0..len), including its ';' (or up to
 * len when the last statement has none). Empty statements (";" with nothing
 * before it but whitespace and comments) are folded into the next one.
 * *has_code (may be NULL) is set when the statement holds more than
 * whitespace and comments. Returns 0 only when len is 0.
 */
size_t pg_lex_statement(const char *sql, size_t len, int *has_code);

/*
 * Number of `?` placeholders outside quotes, comments and dollar quotes.
 */
int pg_lex_count_params(const char *sql, size_t len);

/*
 * Copy of sql with each `?` placeholder replaced by $1, $2, ... in order:
 * malloc'd, NUL-terminated, NULL on out-of-memory. *nparams receives the
 * count. Every `?` in code is a placeholder, so jsonb's ?, ?| and ?&
 * operators are written as jsonb_exists(), jsonb_exists_any() and
 * jsonb_exists_all() in parameterised statements.
 */
char *pg_lex_number_params(const char *sql, size_t len, int *nparams);

/*
 * Can the statement be read through a WITH HOLD cursor? True for a plain
 * SELECT / VALUES / TABLE / WITH query that neither writes (INSERT, UPDATE,
 * DELETE, MERGE, SELECT INTO) nor locks rows (FOR UPDATE / SHARE): the
 * server refuses DECLARE for those, and they are run directly instead.
 */
int pg_lex_is_cursorable(const char *sql, size_t len);

/*
 * Offset of the first code in sql[0..len): past whitespace, comments and
 * empty statements (len if none), so an error points at the statement
 * itself rather than the comment above it.
 */
size_t pg_lex_code_start(const char *sql, size_t len);

/*
 * Offset in sql of byte offset off in the text pg_lex_number_params made
 * from it, so server positions point into what the caller wrote.
 */
size_t pg_lex_unnumber_offset(const char *sql, size_t len, size_t off);

/* Byte offset of the 1-based character position pos in UTF-8 text. */
size_t pg_lex_char_to_byte(const char *sql, size_t len, long pos);

/* 1-based character position of byte offset off in UTF-8 text. */
long pg_lex_byte_to_char(const char *sql, size_t len, size_t off);

#endif
