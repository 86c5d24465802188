// Fencing tokens: issued from a sequence and an epoch (the WAL timeline plus a base that lifts it
// across pg_upgrade), checked against the newest token seen per resource (a function, and a row
// trigger). Their fmgr entry points are in failover/sql_functions.cpp. The state lives in
// WAL-logged tables and two sequences in schema lockguard, so it survives restarts, pg_upgrade
// and reaches a standby with the rest of the data; nothing here uses shared memory. Every function
// holds only trivially destructible objects, so the PostgreSQL errors raised here (SPI included)
// may longjmp through it.
#include "core/fencing.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/sql_arguments.hpp"
#include "pg/infra/statement_depth.hpp"
#include "pg/failover/primary_writes.hpp"
#include "pg/failover/sql_functions.hpp"

extern "C" {
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "storage/lmgr.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

int64 fencing_token_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("fencing token must not be null")));
    int64 token = PG_GETARG_INT64(argno);
    if (token <= 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid fencing token %lld", (long long) token),
                        errdetail("Fencing tokens are positive."),
                        errhint("Pass the value lockguard.fencing_token() returned.")));
    return token;
}

// Records `token` as the newest seen for `resource`, or raises LG003 if a newer one was seen.
// The upsert locks the resource's row until the end of the transaction, so checks of one
// resource serialize: a second checker waits, then compares against the committed outcome
// (a token whose writer rolled back is forgotten with its write). A resource belongs to the role
// that recorded its first token (`actor` then): another role may not move it (42501), so no role
// can fence off another's resource with a made-up token.
struct FencingCheck {
    text *resource;
    int64 token;
    Oid actor;
    bool recorded;  // first or newer token: done
    bool found;     // the resource's row, when not recorded
    int64 newest;
    Oid owner;      // InvalidOid: recorded before resources had owners (1.0), open to every role
};

void run_fencing_check(void *arg) {
    auto *check = static_cast<FencingCheck *>(arg);
    connect_spi();
    Oid types[3] = {TEXTOID, INT8OID, OIDOID};
    Datum values[3] = {PointerGetDatum(check->resource), Int64GetDatum(check->token), ObjectIdGetDatum(check->actor)};
    run_statement("INSERT INTO lockguard.fencing_seen AS seen (resource, token, seen_at, checked_by) "
                  "VALUES ($1, $2, pg_catalog.now(), $3) "
                  "ON CONFLICT (resource) DO UPDATE SET token = excluded.token, seen_at = excluded.seen_at "
                  "WHERE seen.token OPERATOR(pg_catalog.<) excluded.token "
                  "AND (seen.checked_by IS NULL "
                  "OR pg_catalog.pg_has_role($3, seen.checked_by::pg_catalog.oid, 'USAGE'))",
                  3, types, values, nullptr, SPI_OK_INSERT);
    check->recorded = SPI_processed == 1;  // first token for the resource, or a newer one
    if (!check->recorded) {
        // Not newer (or not ours): the row is locked now, and a new snapshot shows its committed value.
        run_statement("SELECT token, checked_by FROM lockguard.fencing_seen WHERE resource OPERATOR(pg_catalog.=) $1",
                      1, types, values, nullptr, SPI_OK_SELECT);
        check->found = SPI_processed == 1;
        if (check->found) {
            bool isnull;
            check->newest = int64_column(1, &isnull);
            Datum owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
            check->owner = isnull ? InvalidOid : DatumGetObjectId(owner);
        }
    }
    SPI_finish();
}

void check_fencing_token(text *resource, int64 token, Oid actor) {
    Oid table = lockguard_table("fencing_seen");
    require_column(table, "fencing_seen", "checked_by");
    FencingCheck check{resource, token, actor, false, false, 0, InvalidOid};
    run_as_owner_of(table, run_fencing_check, &check);
    if (check.recorded) return;
    if (!check.found)
        ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                        errmsg("could not serialize the fencing token check for resource \"%s\"", text_to_cstring(resource)),
                        errdetail("Its row in lockguard.fencing_seen was deleted concurrently."),
                        errhint("Retry the transaction.")));
    if (OidIsValid(check.owner) && !has_privs_of_role(actor, check.owner))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied for fencing resource \"%s\"", text_to_cstring(resource)),
                        errdetail("A fencing resource belongs to the role that checked its first token, and role "
                                  "\"%s\" does not have its privileges.",
                                  GetUserNameFromId(actor, false)),
                        errhint("Check its tokens as that role (for lockguard.fencing_token_guard(), the table's "
                                "owner), or use a resource name of your own.")));
    if (check.newest == token) return;  // the same holder writing again
    ereport(ERROR, (errcode(sqlstate_errcode(sqlstate::kStaleFencingToken)),
                    errmsg("stale fencing token for resource \"%s\"", text_to_cstring(resource)),
                    errdetail("Token %lld is older than token %lld, the newest seen for this resource.",
                              (long long) token, (long long) check.newest),
                    errhint("Another holder has taken over the resource since this token was issued: stop "
                            "writing, acquire the resource again and use its new fencing token.")));
}

// The end of the WAL inserted so far, which XLogFlush() can reach. GetXLogInsertRecPtr() is where
// the next record will start: when the WAL ends exactly at a page boundary, that is past the
// next page's header, which nothing has written yet, and flushing up to it fails with "xlog
// flush request ... is not satisfied" until someone writes more WAL. The WAL ends at the
// boundary then (PostgreSQL's own XLogBytePosToEndRecPtr makes the same correction).
XLogRecPtr inserted_wal_end() {
    XLogRecPtr next = GetXLogInsertRecPtr();
    if (XLogSegmentOffset(next, wal_segment_size) == SizeOfXLogLongPHD)
        return next - SizeOfXLogLongPHD;
    if (next % XLOG_BLCKSZ == SizeOfXLogShortPHD)
        return next - SizeOfXLogShortPHD;
    return next;
}

// The epoch state (core/fencing.hpp) lives in the sequence lockguard.fencing_epoch: setval is
// not undone by a rollback, so an epoch handed out with a token stays recorded even if the
// caller's transaction aborts, like the counter. Read and written through SPI as the sequence's
// owner (callers have no privileges on it).
struct EpochAccess {
    bool write;
    int64 value;
};

void run_epoch_access(void *arg) {
    auto *access = static_cast<EpochAccess *>(arg);
    connect_spi();
    if (access->write) {
        Oid types[1] = {INT8OID};
        Datum values[1] = {Int64GetDatum(access->value)};
        run_statement("SELECT pg_catalog.setval('lockguard.fencing_epoch', $1, true)", 1, types, values, nullptr,
                      SPI_OK_SELECT);
    } else {
        run_statement("SELECT last_value FROM lockguard.fencing_epoch", 0, nullptr, nullptr, nullptr, SPI_OK_SELECT);
        bool isnull;
        access->value = int64_column(1, &isnull);
    }
    SPI_finish();
}

int64 access_epoch(Oid sequence, bool write, int64 value) {
    EpochAccess access{write, value};
    run_as_owner_of(sequence, run_epoch_access, &access);
    return access.value;
}

// The epoch of a token issued now: the timeline plus the base of this cluster, moved past every
// epoch recorded before when this is another cluster than the one that recorded it (pg_upgrade).
// Usually one read; the first token after a promotion or an upgrade also writes, under a lock
// that serializes writers of the state only (ShareUpdateExclusiveLock conflicts with itself, not
// with nextval or a read), released at once.
uint32 fencing_epoch(TimeLineID timeline) {
    Oid schema = get_namespace_oid("lockguard", true);
    Oid sequence = OidIsValid(schema) ? get_relname_relid("fencing_epoch", schema) : InvalidOid;
    if (!OidIsValid(sequence)) {
        (void) lockguard_table("fencing_counter");  // no extension at all: say so
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the lockguard extension in this database is older than its library"),
                        errdetail("lockguard.fencing_epoch does not exist: fencing tokens of this library would not "
                                  "stay above those of a cluster this one was upgraded from."),
                        errhint("Update it: ALTER EXTENSION lockguard UPDATE;")));
    }
    auto system = static_cast<uint32>(GetSystemIdentifier() & kFencingSystemMask);
    FencingEpochState state = unpack_fencing_epoch(access_epoch(sequence, false, 0));
    FencingEpochState next = next_fencing_epoch(state, system, timeline);
    if (next.system == state.system && next.base == state.base && next.epoch == state.epoch) return next.epoch;
    LockRelationOid(sequence, ShareUpdateExclusiveLock);
    state = unpack_fencing_epoch(access_epoch(sequence, false, 0));  // another writer may have been first
    next = next_fencing_epoch(state, system, timeline);
    if (next.system != state.system || next.base != state.base || next.epoch != state.epoch)
        (void) access_epoch(sequence, true, pack_fencing_epoch(next));
    UnlockRelationOid(sequence, ShareUpdateExclusiveLock);
    return next.epoch;
}

const char *trigger_usage_hint() {
    return "Create it as: CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION "
           "lockguard.fencing_token_guard('resource_column', 'token_column'), or with '=name' instead of "
           "'resource_column' for one resource for the whole table.";
}

}  // namespace

// lockguard.fencing_token(resource text) RETURNS bigint
Datum lockguard::pg::sql_fencing_token(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        (void) resource_name_argument(fcinfo, 0);  // the counter is shared; the name is checked
        require_writable_primary("lockguard.fencing_token()");
        // The epoch before the counter: recorded (and WAL-logged) before any token of it exists.
        uint32 epoch = fencing_epoch(GetWALInsertionTimeLine());
        // A sequence, not a row: nextval is not rolled back, so a token handed out by a
        // transaction that later aborts is never handed out again.
        int64 counter = nextval_internal(lockguard_table("fencing_counter"), true);
        // nextval logs the sequence ahead but does not flush that record; flush it so that a
        // crash on this timeline cannot hand out a token the caller may already have used. The
        // record may be another backend's (it logged the values ahead): flush all WAL inserted.
        XLogFlush(inserted_wal_end());
        return Int64GetDatum(compose_fencing_token(epoch, static_cast<uint64_t>(counter)));
    });
}

// lockguard.fencing_token_parts(token bigint, OUT timeline integer, OUT counter bigint)
Datum lockguard::pg::sql_fencing_token_parts(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        if (PG_ARGISNULL(0))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("fencing token must not be null")));
        FencingTokenParts parts = decompose_fencing_token(PG_GETARG_INT64(0));
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
        Datum values[2] = {Int32GetDatum(static_cast<int32>(parts.timeline)),
                           Int64GetDatum(static_cast<int64>(parts.counter))};
        bool nulls[2] = {};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}

// lockguard.check_fencing_token(resource text, token bigint) RETURNS void
Datum lockguard::pg::sql_check_fencing_token(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        (void) resource_name_argument(fcinfo, 0);
        int64 token = fencing_token_argument(fcinfo, 1);
        require_writable_primary("lockguard.check_fencing_token()");
        check_fencing_token(PG_GETARG_TEXT_PP(0), token, GetUserId());
        PG_RETURN_VOID();
    });
}

// lockguard.fencing_token_guard('resource_column' | '=resource', 'token_column'): a BEFORE
// INSERT OR UPDATE row trigger that checks the new row's token like check_fencing_token().
// NOLINTNEXTLINE(readability-function-cognitive-complexity): trigger protocol checks, one per line
Datum lockguard::pg::sql_fencing_token_guard(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        if (!CALLED_AS_TRIGGER(fcinfo))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("lockguard.fencing_token_guard() must be called as a trigger"),
                            errhint("%s", trigger_usage_hint())));
        require_preloaded();
        auto *trigger_data = reinterpret_cast<TriggerData *>(fcinfo->context);
        TriggerEvent event = trigger_data->tg_event;
        const char *table = RelationGetRelationName(trigger_data->tg_relation);
        if (!TRIGGER_FIRED_BEFORE(event) || !TRIGGER_FIRED_FOR_ROW(event) ||
            !(TRIGGER_FIRED_BY_INSERT(event) || TRIGGER_FIRED_BY_UPDATE(event)))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("trigger \"%s\" on \"%s\" must fire BEFORE INSERT OR UPDATE FOR EACH ROW",
                                   trigger_data->tg_trigger->tgname, table),
                            errhint("%s", trigger_usage_hint())));
        Trigger *trigger = trigger_data->tg_trigger;
        if (trigger->tgnargs != 2)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("trigger \"%s\" on \"%s\" needs 2 arguments, got %d", trigger->tgname, table,
                                   trigger->tgnargs),
                            errhint("%s", trigger_usage_hint())));
        const char *resource_argument = trigger->tgargs[0];
        const char *token_column = trigger->tgargs[1];
        HeapTuple row = TRIGGER_FIRED_BY_INSERT(event) ? trigger_data->tg_trigtuple : trigger_data->tg_newtuple;
        TupleDesc row_type = RelationGetDescr(trigger_data->tg_relation);

        const char *resource;
        if (resource_argument[0] == '=') {
            resource = resource_argument + 1;
        } else {
            int column = SPI_fnumber(row_type, resource_argument);
            if (column <= 0)
                ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                                errmsg("column \"%s\" of relation \"%s\" does not exist", resource_argument, table),
                                errhint("%s", trigger_usage_hint())));
            resource = SPI_getvalue(row, row_type, column);
            if (resource == nullptr)
                ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("fencing resource must not be null"),
                                errdetail("Column \"%s\" of the new row in \"%s\" is null.", resource_argument, table)));
        }
        size_t resource_length = strlen(resource);
        if (resource_length == 0)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("resource name must not be empty"),
                            errdetail("Trigger \"%s\" on \"%s\" names an empty resource.", trigger->tgname, table)));
        check_resource_name_length(resource_length);

        int token_attribute = SPI_fnumber(row_type, token_column);
        if (token_attribute <= 0)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                            errmsg("column \"%s\" of relation \"%s\" does not exist", token_column, table),
                            errhint("%s", trigger_usage_hint())));
        if (SPI_gettypeid(row_type, token_attribute) != INT8OID)
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                            errmsg("fencing token column \"%s\" of relation \"%s\" must be of type bigint", token_column,
                                   table)));
        bool token_isnull;
        int64 token = DatumGetInt64(SPI_getbinval(row, row_type, token_attribute, &token_isnull));
        if (token_isnull)
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("fencing token must not be null"),
                            errdetail("Column \"%s\" of the new row in \"%s\" is null.", token_column, table),
                            errhint("Every write to this table must carry the writer's token from "
                                    "lockguard.fencing_token().")));
        if (token <= 0)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid fencing token %lld", (long long) token),
                            errdetail("Column \"%s\" of the new row in \"%s\" holds a token that is not positive.",
                                      token_column, table),
                            errhint("Write the value lockguard.fencing_token() returned.")));
        require_writable_primary("lockguard.fencing_token_guard()");
        // The table's owner set up its fencing; every writer checks on the table's behalf.
        check_fencing_token(cstring_to_text(resource), token, trigger_data->tg_relation->rd_rel->relowner);
        return PointerGetDatum(row);
    });
}
