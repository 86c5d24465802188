// SQL entry points for failover safety: fencing tokens (issue, check, trigger guard) and run-once
// operations (claim, complete). The state lives in WAL-logged tables and one sequence in schema
// lockguard, so it survives restarts and reaches a standby with the rest of the data; nothing
// here uses shared memory. Every function holds only trivially destructible objects, so the
// PostgreSQL errors raised here (SPI included) may longjmp through it.
#include "core/fencing.hpp"
#include "pg/boundary.hpp"
#include "pg/privileges.hpp"
#include "pg/shmem.hpp"
#include "pg/sql_arguments.hpp"
#include "pg/statement_depth.hpp"

extern "C" {
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PGDLLEXPORT Datum lockguard_fencing_token(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_fencing_token_parts(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_check_fencing_token(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_fencing_token_guard(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_claim_operation(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_complete_operation(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_fencing_token);
PG_FUNCTION_INFO_V1(lockguard_fencing_token_parts);
PG_FUNCTION_INFO_V1(lockguard_check_fencing_token);
PG_FUNCTION_INFO_V1(lockguard_fencing_token_guard);
PG_FUNCTION_INFO_V1(lockguard_claim_operation);
PG_FUNCTION_INFO_V1(lockguard_complete_operation);
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

// lockguard's own SQLSTATE class LG; LG001 and LG002 are the tenant budgets.
constexpr int kStaleFencingToken = MAKE_SQLSTATE('L', 'G', '0', '0', '3');

constexpr int kMaxOperationKeyBytes = 1024;

// Writes that must happen on the primary: say so plainly on a standby (25006, as PostgreSQL
// does for any write there), and refuse in a read-only transaction on the primary too.
void require_writable_primary(const char *function_name) {
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("cannot execute %s on a standby server", function_name),
                        errdetail("Fencing tokens and run-once operations are written on the primary only."),
                        errhint("Connect to the primary, for example with target_session_attrs=read-write in a "
                                "multi-host connection string.")));
    PreventCommandIfReadOnly(function_name);
}

void connect_spi() {
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard could not connect to SPI")));
}

// Runs one statement with text/bigint/jsonb parameters; raises XX000 on an unexpected SPI code
// (errors in the statement itself are raised by PostgreSQL with their own SQLSTATE).
void run_statement(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expected) {
    int code = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
    if (code != expected)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard internal error: statement failed"),
                        errdetail("SPI returned %d for: %s", code, sql)));
}

int64 int64_column(int column, bool *isnull) {
    return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, isnull));
}

// The operation key: not NULL (22004), not empty, at most 1024 bytes (22023).
text *operation_key_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("operation key must not be null")));
    text *key = PG_GETARG_TEXT_PP(argno);
    int length = VARSIZE_ANY_EXHDR(key);
    if (length == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("operation key must not be empty"),
                        errhint("Use a key the client chose before its first attempt, for example 'transfer:' "
                                "followed by its request id.")));
    if (length > kMaxOperationKeyBytes)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("operation key is too long"),
                        errdetail("It is %d bytes; the limit is %d bytes.", length, kMaxOperationKeyBytes),
                        errhint("Use a shorter key, for example a hash of the request.")));
    return key;
}

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
    ereport(ERROR, (errcode(kStaleFencingToken),
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

const char *trigger_usage_hint() {
    return "Create it as: CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION "
           "lockguard.fencing_token_guard('resource_column', 'token_column'), or with '=name' instead of "
           "'resource_column' for one resource for the whole table.";
}

// Run-once keys belong to the role that claimed them: another role's claim or completion of the
// key fails with 42501 instead of seeing the operation done and its result (keys chosen by
// different applications may collide; a role must not read another's results).
void require_operation_owner(text *key, Oid owner) {
    if (!OidIsValid(owner) || has_privs_of_role(GetUserId(), owner)) return;
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for run-once operation \"%s\"", text_to_cstring(key)),
                    errdetail("The key was claimed by a role whose privileges role \"%s\" does not have.",
                              GetUserNameFromId(GetUserId(), false)),
                    errhint("Claim it as the role that claimed it, or use keys of your own, for example with the "
                            "application's name as a prefix.")));
}

struct Claim {
    text *key;
    Oid actor;
    bool claimed;
    bool found;  // when not claimed: the row was there
    Oid owner;
    Datum result;
    bool result_isnull;
};

void run_claim(void *arg) {
    auto *claim = static_cast<Claim *>(arg);
    connect_spi();
    Oid types[2] = {TEXTOID, OIDOID};
    Datum args[2] = {PointerGetDatum(claim->key), ObjectIdGetDatum(claim->actor)};
    // A concurrent claim of the same key waits here on the unique index until the first
    // claimer's transaction ends: committed, it is a conflict; rolled back, this one inserts.
    run_statement("INSERT INTO lockguard.operations (key, claimed_at, claimed_by) VALUES ($1, pg_catalog.now(), $2) "
                  "ON CONFLICT (key) DO NOTHING",
                  2, types, args, nullptr, SPI_OK_INSERT);
    claim->claimed = SPI_processed == 1;
    if (!claim->claimed) {
        run_statement("SELECT result, claimed_by FROM lockguard.operations WHERE key OPERATOR(pg_catalog.=) $1", 1,
                      types, args, nullptr, SPI_OK_SELECT);
        claim->found = SPI_processed == 1;
        if (claim->found) {
            bool isnull;
            Datum owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
            claim->owner = isnull ? InvalidOid : DatumGetObjectId(owner);
            claim->result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &claim->result_isnull);
            if (!claim->result_isnull) claim->result = SPI_datumTransfer(claim->result, false, -1);  // out of SPI's memory
        }
    }
    SPI_finish();
}

struct Completion {
    text *key;
    Datum result;
    bool result_isnull;
    bool found;
    Oid owner;
    TransactionId claimer;
    bool completed;
    bool recorded;
};

void run_completion(void *arg) {
    auto *completion = static_cast<Completion *>(arg);
    connect_spi();
    Oid types[2] = {TEXTOID, JSONBOID};
    Datum args[2] = {PointerGetDatum(completion->key), completion->result};
    const char nulls[2] = {' ', completion->result_isnull ? 'n' : ' '};
    run_statement("SELECT xmin, completed_at IS NOT NULL, claimed_by FROM lockguard.operations "
                  "WHERE key OPERATOR(pg_catalog.=) $1 FOR UPDATE",
                  1, types, args, nulls, SPI_OK_SELECT);
    completion->found = SPI_processed == 1;
    if (completion->found) {
        bool isnull;
        HeapTuple row = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        completion->claimer = DatumGetTransactionId(SPI_getbinval(row, desc, 1, &isnull));
        completion->completed = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
        Datum owner = SPI_getbinval(row, desc, 3, &isnull);
        completion->owner = isnull ? InvalidOid : DatumGetObjectId(owner);
        // The row's newest version comes from this transaction only if this transaction
        // claimed it (or already completed it): a result belongs with the work it describes.
        if (TransactionIdIsCurrentTransactionId(completion->claimer)) {
            run_statement("UPDATE lockguard.operations SET completed_at = pg_catalog.now(), result = $2 "
                          "WHERE key OPERATOR(pg_catalog.=) $1",
                          2, types, args, nulls, SPI_OK_UPDATE);
            completion->recorded = true;
        }
    }
    SPI_finish();
}

}  // namespace

// lockguard.fencing_token(resource text) RETURNS bigint
Datum lockguard_fencing_token(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        (void) resource_name_argument(fcinfo, 0);  // the counter is shared; the name is checked
        require_writable_primary("lockguard.fencing_token()");
        TimeLineID timeline = GetWALInsertionTimeLine();
        // A sequence, not a row: nextval is not rolled back, so a token handed out by a
        // transaction that later aborts is never handed out again.
        int64 counter = nextval_internal(lockguard_table("fencing_counter"), true);
        // nextval logs the sequence ahead but does not flush that record; flush it so that a
        // crash on this timeline cannot hand out a token the caller may already have used. The
        // record may be another backend's (it logged the values ahead): flush all WAL inserted.
        XLogFlush(inserted_wal_end());
        return Int64GetDatum(compose_fencing_token(timeline, static_cast<uint64_t>(counter)));
    });
}

// lockguard.fencing_token_parts(token bigint, OUT timeline integer, OUT counter bigint)
Datum lockguard_fencing_token_parts(PG_FUNCTION_ARGS) {
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
Datum lockguard_check_fencing_token(PG_FUNCTION_ARGS) {
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
Datum lockguard_fencing_token_guard(PG_FUNCTION_ARGS) {
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

// lockguard.claim_operation(key text, OUT claimed boolean, OUT result jsonb)
Datum lockguard_claim_operation(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        text *key = operation_key_argument(fcinfo, 0);
        // In autocommit the claim would commit before the work it guards runs: exactly-once
        // needs both in one transaction.
        if (!IsTransactionBlock() && called_by_client_statement("claim_operation"))
            ereport(ERROR, (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                            errmsg("lockguard.claim_operation can only be used in transaction blocks"),
                            errdetail("A claim commits with its transaction, which outside a transaction block is "
                                      "the end of this statement, before the work it guards."),
                            errhint("Call it after BEGIN, in the transaction that does the work, or from the "
                                    "function that does it.")));
        require_writable_primary("lockguard.claim_operation()");
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));

        Oid table = lockguard_table("operations");
        require_column(table, "operations", "claimed_by");
        Claim claim{key, GetUserId(), false, false, InvalidOid, (Datum) 0, true};
        run_as_owner_of(table, run_claim, &claim);
        if (!claim.claimed && !claim.found)
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("could not serialize the claim of operation \"%s\"", text_to_cstring(key)),
                            errdetail("The operation expired while it was being claimed."),
                            errhint("Retry the transaction.")));
        if (!claim.claimed) require_operation_owner(key, claim.owner);
        bool claimed = claim.claimed;
        Datum result = claim.result;
        bool result_isnull = claim.result_isnull;
        Datum values[2] = {BoolGetDatum(claimed), result};
        bool nulls[2] = {false, result_isnull};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}

// lockguard.complete_operation(key text, result jsonb) RETURNS void
Datum lockguard_complete_operation(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        text *key = operation_key_argument(fcinfo, 0);
        require_writable_primary("lockguard.complete_operation()");
        Oid table = lockguard_table("operations");
        require_column(table, "operations", "claimed_by");
        Completion completion{key, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1)};
        run_as_owner_of(table, run_completion, &completion);
        if (!completion.found)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("operation \"%s\" was not claimed", text_to_cstring(key)),
                            errhint("Call lockguard.claim_operation() first, in the same transaction.")));
        require_operation_owner(key, completion.owner);
        if (!completion.recorded)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            completion.completed
                                ? errmsg("operation \"%s\" is already complete", text_to_cstring(key))
                                : errmsg("operation \"%s\" was claimed by another transaction", text_to_cstring(key)),
                            errdetail("Only the transaction that claimed an operation records its result."),
                            errhint("Call lockguard.claim_operation() and lockguard.complete_operation() in the "
                                    "transaction that does the work; when the claim returns claimed = false, the "
                                    "operation is done and its result is returned there.")));
        PG_RETURN_VOID();
    });
}
