#include "pg/infra/privileges.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
}

namespace lockguard::pg {

bool may_see_all_sessions() {
    Oid user = GetUserId();
    if (superuser_arg(user) || has_privs_of_role(user, ROLE_PG_READ_ALL_STATS)) return true;
    Oid monitor = get_role_oid("lockguard_monitor", true);
    return OidIsValid(monitor) && has_privs_of_role(user, monitor);
}

bool may_see_session_of(Oid role, bool all) {
    return all || (OidIsValid(role) && has_privs_of_role(GetUserId(), role));
}

void run_as_owner_of(Oid relation, void (*step)(void *), void *arg) {
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
    if (!HeapTupleIsValid(tuple))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relation)));
    Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    PG_TRY();
    {
        step(arg);
    }
    PG_FINALLY();
    {
        SetUserIdAndSecContext(saved_user, saved_context);
    }
    PG_END_TRY();
}

Oid lockguard_table(const char *name) {
    Oid schema = get_namespace_oid("lockguard", true);
    Oid relation = OidIsValid(schema) ? get_relname_relid(name, schema) : InvalidOid;
    if (!OidIsValid(relation))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("lockguard.%s does not exist", name),
                        errhint("Install the extension in this database: CREATE EXTENSION lockguard;")));
    return relation;
}

void require_column(Oid relation, const char *table, const char *column) {
    if (get_attnum(relation, column) == InvalidAttrNumber)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the lockguard extension in this database is older than its library"),
                        errdetail("lockguard.%s has no column \"%s\".", table, column),
                        errhint("Update it: ALTER EXTENSION lockguard UPDATE;")));
}

}  // namespace lockguard::pg
