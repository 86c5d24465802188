// lockguard_run(): take the locks, run the caller's function, and on lock timeout (55P03) or
// deadlock (40P01) roll back just that attempt (an internal subtransaction, as PL/pgSQL
// exception blocks do), sleep with exponential backoff and jitter, and try again, within a
// number of attempts and a total deadline. The caller's transaction survives every attempt.
#include "core/backoff.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/clip.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/acquire/multi_acquire.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/sql_arguments.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/wait_events.hpp"
#include "pg/acquire/sql_functions.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

struct Work {
    Oid function;
    FmgrInfo flinfo;
    int nargs;  // 0, or 1 (a jsonb argument)
    bool returns_jsonb;
};

// What lockguard_run learned about a work function, kept per backend so that a call pays no
// catalog look-up: dropped whenever pg_proc changes (CREATE OR REPLACE, ALTER, DROP).
constexpr int kCachedWorks = 8;
Work cached_works[kCachedWorks];
int next_cached_work = 0;
bool work_callback_registered = false;

void forget_works(Datum /*unused*/, int /*cache_id*/, uint32 /*hash*/) {
    for (Work &work : cached_works) work.function = InvalidOid;
}

// The work must be a function or procedure taking nothing or one jsonb. Its name comes from a
// regprocedure: no SQL text is built from caller input.
void describe_work(Work *work, Oid function) {
    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
    if (!HeapTupleIsValid(tuple))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION), errmsg("function with OID %u does not exist", function)));
    auto *proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
    bool takes_jsonb = proc->pronargs == 1 && proc->proargtypes.values[0] == JSONBOID;
    bool kind_ok = proc->prokind == PROKIND_FUNCTION || proc->prokind == PROKIND_PROCEDURE;
    bool returns_set = proc->proretset;
    Oid result_type = proc->prorettype;
    work->returns_jsonb = result_type == JSONBOID;
    work->nargs = proc->pronargs;
    ReleaseSysCache(tuple);
    // As SQL refuses to call them: a trigger function outside a trigger would misread its call
    // context (some of PostgreSQL's own fail with an internal error).
    if (result_type == TRIGGEROID || result_type == EVENT_TRIGGEROID)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("trigger functions can only be called as triggers"),
                        errdetail("The work %s is a trigger function.", format_procedure(function))));
    // Other pseudo-types (internal, ...) are results only PostgreSQL's own callers understand.
    if (get_typtype(result_type) == TYPTYPE_PSEUDO && result_type != VOIDOID && result_type != RECORDOID)
        kind_ok = false;
    if (!kind_ok || returns_set || (work->nargs != 0 && !takes_jsonb))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("work %s cannot be run by lockguard_run", format_procedure(function)),
                        errdetail("The work must be a function or procedure that takes no argument or one jsonb "
                                  "argument, and returns no set."),
                        errhint("Wrap the work in a function such as my_work(arg jsonb) RETURNS jsonb.")));
    fmgr_info_cxt(function, &work->flinfo, TopMemoryContext);
    work->function = function;  // last: a description that raised leaves no entry behind
}

// The work's description (cached), after the caller's privilege to execute it is checked: on
// every call, as the executor checks it.
void prepare_work(Work *work, Oid function) {
    if (!work_callback_registered) {
        CacheRegisterSyscacheCallback(PROCOID, forget_works, 0);
        work_callback_registered = true;
    }
    Work *cached = nullptr;
    for (Work &entry : cached_works)
        if (OidIsValid(function) && entry.function == function) cached = &entry;  // 0 marks a free entry
    if (cached == nullptr) {
        cached = &cached_works[next_cached_work];
        next_cached_work = (next_cached_work + 1) % kCachedWorks;
        cached->function = InvalidOid;
        describe_work(cached, function);
    }
    if (!may_execute_function(function, GetUserId()))
        aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(function));
    *work = *cached;
}

struct Attempt {
    ArrayType *requests;
    int timeout_ms;
    int32 priority;
    Work *work;
    Datum arg;
    bool arg_null;
    MemoryContext outer_context;
    Datum result;
    bool result_null;
};

void run_attempt(void *arg) {
    auto *attempt = static_cast<Attempt *>(arg);
    // Each attempt is one acquisition with one deadline, made when the attempt starts.
    Deadline deadline = deadline_from_now(attempt->timeout_ms);
    (void) acquire_request_array(attempt->requests, attempt->priority, &deadline);
    attempt->result_null = true;
    Work *work = attempt->work;
    if (work->nargs == 1 && attempt->arg_null && work->flinfo.fn_strict) return;  // a strict function of NULL
    LOCAL_FCINFO(call, 1);
    InitFunctionCallInfoData(*call, &work->flinfo, work->nargs, InvalidOid, nullptr, nullptr);
    if (work->nargs == 1) {
        call->args[0].value = attempt->arg;
        call->args[0].isnull = attempt->arg_null;
    }
    Datum result = FunctionCallInvoke(call);
    if (work->returns_jsonb && !call->isnull) {
        // Copied out of the attempt's subtransaction, which is about to end.
        MemoryContext attempt_context = MemoryContextSwitchTo(attempt->outer_context);
        attempt->result = datumCopy(result, false, -1);
        MemoryContextSwitchTo(attempt_context);
        attempt->result_null = false;
    }
}

void sleep_ms(int32 delay_ms) {
    TimestampTz until = GetCurrentTimestamp() + static_cast<TimestampTz>(delay_ms) * 1000;
    for (;;) {
        long left_ms = (until - GetCurrentTimestamp()) / 1000;
        if (left_ms <= 0) break;
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

// Only lockguard's own verdicts are retried: a lock not obtained in time and a deadlock. A 57014
// (the caller's statement_timeout, a cancel) is the caller's decision to stop and is raised at
// once, as is every other error of the work.
bool is_retryable(const ErrorData *error) {
    return error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE || error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED;
}

// The audit entry of the envelope names what it locked and which work it ran.
PublishedLock envelope_description(Oid function, int32 priority, int32 tenant_slot) {
    PublishedLock lock{};
    lock.scope = LockScope::Named;
    lock.priority = priority;
    lock.tenant_slot = tenant_slot;
    strlcpy(lock.mode_name, "lockguard_run", sizeof(lock.mode_name));
    strlcpy(lock.resource_class, "lockguard_run", sizeof(lock.resource_class));
    format_clipped(lock.name, sizeof(lock.name), "lockguard_run(%s)", format_procedure(function));
    return lock;
}

// The (attempts, result) row type, blessed once per backend for the SQL function that asks
// (an extension update that changed it would be a new function OID).
TupleDesc run_result_type(FunctionCallInfo fcinfo) {
    static Oid blessed_for = InvalidOid;
    static TupleDesc blessed = nullptr;
    if (blessed != nullptr && blessed_for == fcinfo->flinfo->fn_oid) return blessed;
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
    MemoryContext caller_context = MemoryContextSwitchTo(TopMemoryContext);
    blessed = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
    MemoryContextSwitchTo(caller_context);
    blessed_for = fcinfo->flinfo->fn_oid;
    return blessed;
}

int32 int_argument_or(FunctionCallInfo fcinfo, int argno, int32 fallback) {
    return PG_ARGISNULL(argno) ? fallback : PG_GETARG_INT32(argno);
}

}  // namespace

// lockguard_run(requests, work, arg, max_attempts, deadline_ms, timeout_ms, priority,
//               backoff_base_ms, backoff_max_ms) RETURNS record (attempts, result)
// NOLINTNEXTLINE(readability-function-cognitive-complexity): argument checks, then one attempt loop
Datum lockguard::pg::sql_run(FunctionCallInfo fcinfo) {
    // NOLINTNEXTLINE(readability-function-cognitive-complexity): the same body, as the boundary's lambda
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        if (PG_ARGISNULL(0))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the set of lock requests must not be null")));
        if (PG_ARGISNULL(1))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("work must not be null"),
                            errhint("Name the function to run, for example 'transfer(jsonb)'::regprocedure.")));
        Work work;
        prepare_work(&work, PG_GETARG_OID(1));
        RetryBudget budget{int_argument_or(fcinfo, 3, 5), int_argument_or(fcinfo, 4, 0)};
        validate_retry_budget(budget);
        int timeout_ms = timeout_argument(fcinfo, 5);
        int32 priority = priority_argument(fcinfo, 6);
        BackoffPolicy backoff;
        backoff.base_ms = int_argument_or(fcinfo, 7, 10);
        backoff.max_ms = int_argument_or(fcinfo, 8, 1000);
        validate_backoff_policy(backoff);

        MemoryContext outer_context = CurrentMemoryContext;
        ResourceOwner outer_owner = CurrentResourceOwner;
        Attempt attempt{PG_GETARG_ARRAYTYPE_P(0), timeout_ms, priority, &work,
                        PG_ARGISNULL(2) ? static_cast<Datum>(0) : PG_GETARG_DATUM(2), PG_ARGISNULL(2), outer_context,
                        0, true};
        // Named (a catalog look-up) only when an attempt fails: the first attempt usually succeeds.
        int32 tenant_slot = resolve_current_tenant();
        PublishedLock description{};
        bool described = false;
        auto describe = [&]() -> const PublishedLock & {
            if (!described) description = envelope_description(work.function, priority, tenant_slot);
            described = true;
            return description;
        };
        uint64_t random_state = static_cast<uint64_t>(MyProcPid) ^ static_cast<uint64_t>(GetCurrentTimestamp());
        TimestampTz first_started = GetCurrentTimestamp();

        for (int attempts = 1;; attempts++) {
            if (budget.deadline_ms > 0) {  // no attempt may wait past the deadline
                long left = budget.deadline_ms - (GetCurrentTimestamp() - first_started) / 1000;
                attempt.timeout_ms = static_cast<int>(std::max(0L, std::min(static_cast<long>(timeout_ms), left)));
            }
            BeginInternalSubTransaction(nullptr);
            MemoryContextSwitchTo(outer_context);
            ErrorData *error = run_catching_error(run_attempt, &attempt);
            if (error == nullptr) {
                ReleaseCurrentSubTransaction();
            } else {
                RollbackAndReleaseCurrentSubTransaction();
            }
            MemoryContextSwitchTo(outer_context);
            CurrentResourceOwner = outer_owner;
            long elapsed_us = GetCurrentTimestamp() - first_started;

            if (error == nullptr) {
                if (attempts > 1) record_wait_event(describe(), WaitEventOutcome::Granted, elapsed_us, attempts);
                Datum values[2] = {Int32GetDatum(attempts), attempt.result};
                bool nulls[2] = {false, attempt.result_null};
                return HeapTupleGetDatum(heap_form_tuple(run_result_type(fcinfo), values, nulls));
            }
            if (!is_retryable(error)) ReThrowError(error);
            // A deadlock the work itself ran into (an UPDATE, not a lockguard wait) is caught here
            // and never reaches the server log as an error: record it now, with the cycle and
            // every query from the report's log-only detail. One on a lockguard wait was recorded
            // where it was caught; the capture skips the same report seen again.
            if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) capture_deadlock_error(error, DeadlockSource::Lockguard);

            int32 delay_ms = backoff_delay_ms(backoff, attempts, next_random(random_state));
            RetryVerdict verdict = decide_retry(budget, attempts, elapsed_us / 1000, delay_ms);
            if (verdict != RetryVerdict::Retry) {
                record_wait_event(describe(), WaitEventOutcome::GaveUp, elapsed_us, attempts);
                char *ours = psprintf("lockguard_run gave up after %d attempt%s in %ld ms (%s).", attempts,
                                      attempts == 1 ? "" : "s", elapsed_us / 1000,
                                      verdict == RetryVerdict::GiveUpAttempts ? "max_attempts reached"
                                                                              : "deadline_ms reached");
                error->detail = error->detail != nullptr ? psprintf("%s %s", error->detail, ours) : ours;
                ReThrowError(error);
            }
            record_wait_event(describe(), WaitEventOutcome::Retried, elapsed_us, attempts);
            FreeErrorData(error);
            sleep_ms(delay_ms);
        }
    });
}
