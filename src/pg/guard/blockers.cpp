// Ending runaway blockers: the one step lockguard.end_blockers() cannot do in SQL. It signals
// one backend (cancel or terminate) with the caller's own right to signal, and writes the audit
// entry in the same call, so no session is ended without a trace; the entry lives in the shared
// audit ring, so it survives even if the caller's transaction rolls back.
//
// It trusts no argument but the pid: the target must be a root blocker now, of a role that is not
// exempt, and what the audit records (how long it blocked, whom, its query) is read here, so a
// direct call can neither end a session that blocks nobody nor write a misleading audit entry.
#include "pg/observe/audit.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"
#include "pg/guard/guardrails.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/guard/sql_functions.hpp"

#include <csignal>

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

namespace lockguard::pg {

namespace {

// Superusers, members of pg_signal_backend and members of lockguard_admin may end blockers.
bool may_end_blockers(Oid user) {
    if (superuser_arg(user) || has_privs_of_role(user, ROLE_PG_SIGNAL_BACKEND)) return true;
    Oid admin = get_role_oid("lockguard_admin", true);
    return OidIsValid(admin) && has_privs_of_role(user, admin);
}

int64 interval_us(const Interval *span) {
    return span->time + static_cast<int64>(span->day) * USECS_PER_DAY +
           static_cast<int64>(span->month) * DAYS_PER_MONTH * USECS_PER_DAY;
}

// The target as lockguard._root_blockers() sees it now.
struct RootBlocker {
    bool found;
    bool exempt;
    int64 blocking_us;
    int blocked_total;  // sessions it blocks
    int blocked_count;  // of which the first few are listed
    int32 blocked[kAuditMaxBlockers];
};

RootBlocker find_root_blocker(int32 pid) {
    RootBlocker blocker{};
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard could not connect to SPI")));
    Oid types[1] = {INT4OID};
    Datum values[1] = {Int32GetDatum(pid)};
    int code = SPI_execute_with_args(
        "SELECT r.exempt, r.blocking_for, r.blocked_pids FROM lockguard._root_blockers() r "
        "WHERE r.pid OPERATOR(pg_catalog.=) $1",
        1, types, values, nullptr, true, 1);
    if (code != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard could not list root blockers"),
                        errdetail("SPI returned %s.", SPI_result_code_string(code))));
    if (SPI_processed == 1) {
        HeapTuple row = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull;
        blocker.found = true;
        Datum exempt = SPI_getbinval(row, desc, 1, &isnull);
        blocker.exempt = !isnull && DatumGetBool(exempt);
        Datum blocking_for = SPI_getbinval(row, desc, 2, &isnull);
        blocker.blocking_us = isnull ? 0 : interval_us(DatumGetIntervalP(blocking_for));
        Datum blocked = SPI_getbinval(row, desc, 3, &isnull);
        if (!isnull) {
            Datum *elements;
            bool *element_nulls;
            int count;
            deconstruct_array(DatumGetArrayTypeP(blocked), INT4OID, sizeof(int32), true, TYPALIGN_INT, &elements,
                              &element_nulls, &count);
            blocker.blocked_total = count;
            for (int i = 0; i < count && blocker.blocked_count < kAuditMaxBlockers; i++)
                if (!element_nulls[i]) blocker.blocked[blocker.blocked_count++] = DatumGetInt32(elements[i]);
        }
    }
    SPI_finish();
    return blocker;
}

// The target's query from this transaction's snapshot of the activity array (unmasked: the
// audit is for lockguard_monitor).
void copy_session_query(int32 pid, char *out, size_t size) {
    out[0] = '\0';
    int count = pgstat_fetch_stat_numbackends();
    for (int i = 1; i <= count; i++) {
        LocalPgBackendStatus *local = local_backend_status(i);
        if (local == nullptr || local->backendStatus.st_procpid != pid) continue;
        char *query = pgstat_clip_activity(local->backendStatus.st_activity_raw);
        int length = pg_mbcliplen(query, static_cast<int>(strlen(query)), static_cast<int>(size) - 1);
        memcpy(out, query, length);
        out[length] = '\0';
        return;
    }
}

void audit_blocker_action(int32 pid, bool terminate, const RootBlocker &blocker) {
    AuditEntry entry = new_audit_entry(terminate ? kOutcomeTerminated : kOutcomeCancelled, LockScope::Table,
                                       terminate ? "terminate" : "cancel");
    entry.pid = pid;  // the session ended; `role` is who ended it
    entry.waited_us = blocker.blocking_us;
    copy_session_query(pid, entry.resource, sizeof(entry.resource));
    entry.attempts = blocker.blocked_total;  // how many sessions it blocked
    for (int i = 0; i < blocker.blocked_count; i++) entry.blockers[entry.blocker_count++] = blocker.blocked[i];
    append_audit_entry(entry);
}

}  // namespace

}  // namespace lockguard::pg

using namespace lockguard::pg;

// lockguard._end_blocker(pid, terminate): cancels (or terminates) one client backend that is a
// root blocker now, and audits it. Returns false if the backend is gone, blocks nobody any more,
// or belongs to an exempt role. Refuses callers without the right to signal backends, this
// session, background workers, and superusers' sessions unless the caller is a superuser
// (PostgreSQL's own rule). The 1.0 declaration passed three more arguments; they are ignored.
Datum lockguard::pg::sql_end_blocker(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("pid and terminate must not be null")));
        int32 pid = PG_GETARG_INT32(0);
        bool terminate = PG_GETARG_BOOL(1);

        if (!may_end_blockers(GetUserId()))
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to end blocking sessions"),
                            errdetail("Only superusers and members of pg_signal_backend or lockguard_admin may."),
                            errhint("Ask an administrator to grant lockguard_admin.")));
        if (pid == MyProcPid)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("lockguard will not end its own session")));
        PGPROC *proc = BackendPidGetProc(pid);
        if (proc == nullptr) return BoolGetDatum(false);  // ended meanwhile, or no backend at all
        if (proc_is_background_process(proc))
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("process %d is a background worker, not a client session", pid)));
        if (superuser_arg(proc->roleId) && !superuser())
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("permission denied to end superuser session %d", pid),
                            errhint("Only a superuser may end a superuser's session.")));
        RootBlocker blocker = find_root_blocker(pid);
        if (!blocker.found || blocker.exempt) return BoolGetDatum(false);
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
        audit_blocker_action(pid, terminate, blocker);
        return BoolGetDatum(true);
    });
}
