// Ending runaway blockers: the one step lockguard.end_blockers() cannot do in SQL. It signals
// one backend (cancel or terminate) with the caller's own right to signal, and writes the audit
// entry in the same call, so no session is ended without a trace; the entry lives in the shared
// audit ring, so it survives even if the caller's transaction rolls back.
#include "pg/audit.hpp"
#include "pg/boundary.hpp"
#include "pg/guardrails.hpp"
#include "pg/shmem.hpp"

#include <csignal>

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PGDLLEXPORT Datum lockguard_end_blocker(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_end_blocker);
}

namespace lockguard::pg {

namespace {

// Superusers, members of pg_signal_backend and members of lockguard_admin may end blockers.
bool may_end_blockers(Oid role) {
    if (superuser_arg(role) || has_privs_of_role(role, ROLE_PG_SIGNAL_BACKEND)) return true;
    Oid admin = get_role_oid("lockguard_admin", true);
    return OidIsValid(admin) && has_privs_of_role(role, admin);
}

int64 interval_us(const Interval *span) {
    return span->time + static_cast<int64>(span->day) * USECS_PER_DAY +
           static_cast<int64>(span->month) * DAYS_PER_MONTH * USECS_PER_DAY;
}

void audit_blocker_action(int32 pid, bool terminate, int64 blocking_us, ArrayType *blocked, const char *query) {
    AuditEntry entry;
    memset(&entry, 0, sizeof(entry));
    entry.logged_at = GetCurrentTimestamp();
    entry.pid = pid;  // the session ended; `role` is who ended it
    entry.role = GetUserId();
    entry.database = MyDatabaseId;
    entry.outcome = terminate ? kOutcomeTerminated : kOutcomeCancelled;
    entry.scope = LockScope::Table;
    entry.waited_us = blocking_us;
    strlcpy(entry.mode, terminate ? "terminate" : "cancel", sizeof(entry.mode));
    strlcpy(entry.resource, query, sizeof(entry.resource));
    fill_audit_trace_id(entry.trace_id, sizeof(entry.trace_id));
    if (blocked != nullptr) {
        Datum *values;
        bool *nulls;
        int count;
        deconstruct_array(blocked, INT4OID, sizeof(int32), true, TYPALIGN_INT, &values, &nulls, &count);
        entry.attempts = count;  // how many sessions it blocked
        for (int i = 0; i < count && entry.blocker_count < kAuditMaxBlockers; i++)
            if (!nulls[i]) entry.blockers[entry.blocker_count++] = DatumGetInt32(values[i]);
    }
    append_audit_entry(entry);
}

}  // namespace

}  // namespace lockguard::pg

using namespace lockguard::pg;

// lockguard._end_blocker(pid, terminate, blocking_for, blocked_pids, query): cancels (or
// terminates) one client backend and audits it. Returns false if the backend is gone. Refuses
// callers without the right to signal backends, this session, background workers, and
// superusers' sessions unless the caller is a superuser (PostgreSQL's own rule).
Datum lockguard_end_blocker(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("pid and terminate must not be null")));
        int32 pid = PG_GETARG_INT32(0);
        bool terminate = PG_GETARG_BOOL(1);
        int64 blocking_us = PG_ARGISNULL(2) ? 0 : interval_us(PG_GETARG_INTERVAL_P(2));
        ArrayType *blocked = PG_ARGISNULL(3) ? nullptr : PG_GETARG_ARRAYTYPE_P(3);
        const char *query = PG_ARGISNULL(4) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(4));

        if (!may_end_blockers(GetUserId()))
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to end blocking sessions"),
                            errdetail("Only superusers and members of pg_signal_backend or lockguard_admin may."),
                            errhint("Ask an administrator to grant lockguard_admin.")));
        if (pid == MyProcPid)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("lockguard will not end its own session")));
        PGPROC *proc = BackendPidGetProc(pid);
        if (proc == nullptr) return BoolGetDatum(false);  // ended meanwhile
        if (proc->isBackgroundWorker)
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("process %d is a background worker, not a client session", pid)));
        if (superuser_arg(proc->roleId) && !superuser())
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("permission denied to end superuser session %d", pid),
                            errhint("Only a superuser may end a superuser's session.")));
        // As pg_cancel_backend and pg_terminate_backend do: signal the backend's process group.
#ifdef HAVE_SETSID
        int failed = kill(-pid, terminate ? SIGTERM : SIGINT);
#else
        int failed = kill(pid, terminate ? SIGTERM : SIGINT);
#endif
        if (failed != 0) {
            ereport(WARNING, (errmsg("could not send signal to process %d: %m", pid)));
            return BoolGetDatum(false);
        }
        audit_blocker_action(pid, terminate, blocking_us, blocked, query);
        return BoolGetDatum(true);
    });
}
