/*
 * Fuzz target: the SQL statement splitter, with each driver's dialect
 * flags (the first byte picks one). Walking the input statement by
 * statement must always move forward and end exactly at its end.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sqlsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mig_dialect d = { 0 };
    switch (data[0] % 4) {
    case 0:
        d.ident_quote = '"';
        d.dollar_quotes = 1;
        break; /* postgres */
    case 1:
        d.ident_quote = '`';
        d.backslash_escapes = 1;
        d.hash_comments = 1;
        break; /* mysql */
    case 2:
        d.ident_quote = '"';
        break; /* sqlite */
    default:
        d.ident_quote = '"';
        d.dollar_quotes = d.backslash_escapes = d.hash_comments = 1;
        break;
    }
    const char *sql = (const char *)data + 1;
    size_t len = size - 1, off = 0;
    while (off < len) {
        int empty = 0;
        size_t n = mig_sql_statement_end(&d, sql + off, len - off, &empty);
        if (n == 0 || n > len - off)
            abort(); /* no progress, or past the end */
        off += n;
    }
    (void)mig_sql_is_blank(&d, sql, len);
    return 0;
}
