#include "rules.h"

const mig_rule mig_rule_empty_downgrade = { "MIG001", "empty-downgrade" };

int mig_rule_empty_downgrade_hits(const mig_rev *rev, const mig_revbody *b, const mig_dialect *d)
{
    if (rev->is_lua || !b->has_downgrade)
        return 0;
    /* an empty upgrade (a merge, a placeholder) has nothing to undo: its empty downgrade is right */
    if (!b->has_upgrade || mig_sql_is_blank(d, b->data + b->up_off, b->up_len))
        return 0;
    return mig_sql_is_blank(d, b->data + b->down_off, b->down_len);
}

void mig_rule_empty_downgrade_say(mig_buf *out, const mig_rev *rev)
{
    mig_buf_printf(out, "no downgrade in %s", rev->id);
    if (rev->message && *rev->message)
        mig_buf_printf(out, " %s", rev->message);
}
