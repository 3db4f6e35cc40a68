/*
 * mig test: the objects of the current schema that autogenerate's model
 * leaves out. Definitions are PostgreSQL's own (pg_get_*def), so two
 * snapshots compare as text. Sequences owned by a column (serial,
 * identity) come and go with it and are left out; functions are compared
 * by a hash of their definition.
 */
#include "../objects_query.h"

int pg_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err);

static const char objects_sql[] =
    "SELECT 'check', c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) "
    "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE k.contype = 'c' AND n.nspname = current_schema() "
    "UNION ALL SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, NULL, "
    "c.relname::text, pg_get_viewdef(c.oid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('v', 'm') AND n.nspname = current_schema() "
    "UNION ALL SELECT 'trigger', c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid) "
    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE NOT t.tgisinternal AND n.nspname = current_schema() "
    "UNION ALL SELECT 'sequence', NULL, c.relname::text, NULL "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = current_schema() AND NOT EXISTS "
    "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
    "AND d.deptype IN ('a', 'i')) "
    "UNION ALL SELECT 'routine', NULL, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
    "md5(pg_get_functiondef(p.oid)) "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.prokind IN ('f', 'p') AND n.nspname = current_schema() AND NOT EXISTS "
    "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')";

int pg_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err)
{
    *kinds = "check,view,trigger,sequence,routine";
    return objects_query(conn, objects_sql, fn, payload, err);
}
