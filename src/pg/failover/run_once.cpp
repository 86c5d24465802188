// Run-once operations: a key claimed in the transaction that does the work, and completed with
// its result, so that a retry after a failover sees the operation done and its result instead
// of doing it twice. Their fmgr entry points are in failover/sql_functions.cpp. The state lives
// in the WAL-logged table lockguard.operations. Every function holds only trivially
// destructible objects, so the PostgreSQL errors raised here (SPI included) may longjmp through it.
#include "pg/infra/boundary.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/sql_arguments.hpp"
#include "pg/infra/statement_depth.hpp"
#include "pg/failover/primary_writes.hpp"
#include "pg/failover/sql_functions.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
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

constexpr int kMaxOperationKeyBytes = 1024;

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

// lockguard.claim_operation(key text, OUT claimed boolean, OUT result jsonb)
Datum lockguard::pg::sql_claim_operation(FunctionCallInfo fcinfo) {
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
Datum lockguard::pg::sql_complete_operation(FunctionCallInfo fcinfo) {
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
