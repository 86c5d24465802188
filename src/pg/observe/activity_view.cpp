// lockguard._activity(): the sessions of pg_stat_activity that lockguard's views show, with
// lockguard's visibility rule (pg/infra/privileges.hpp): query texts, state and transaction start
// of other roles' sessions are shown to members of lockguard_monitor as well, and hidden from
// everyone else exactly as pg_stat_activity hides them.
#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "funcapi.h"
#include "postmaster/bgworker.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace lockguard::pg;

// lockguard._activity(OUT pid, OUT usesysid, OUT usename, OUT application_name, OUT backend_type,
//                     OUT state, OUT xact_start, OUT query)
Datum lockguard::pg::sql_activity(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        bool all = may_see_all_sessions();
        int count = pgstat_fetch_stat_numbackends();
        for (int i = 1; i <= count; i++) {
            LocalPgBackendStatus *local = local_backend_status(i);
            if (local == nullptr) continue;
            PgBackendStatus *session = &local->backendStatus;
            if (session->st_procpid <= 0) continue;
            constexpr int kColumns = 8;
            Datum values[kColumns] = {};
            bool nulls[kColumns] = {};
            values[0] = Int32GetDatum(session->st_procpid);
            values[1] = ObjectIdGetDatum(session->st_userid);
            nulls[1] = !OidIsValid(session->st_userid);
            char *user = OidIsValid(session->st_userid) ? GetUserNameFromId(session->st_userid, true) : nullptr;
            if (user != nullptr)
                values[2] = DirectFunctionCall1(namein, CStringGetDatum(user));
            else
                nulls[2] = true;
            values[3] = CStringGetTextDatum(session->st_appname != nullptr ? session->st_appname : "");
            const char *type = session->st_backendType == B_BG_WORKER
                                   ? GetBackgroundWorkerTypeByPid(session->st_procpid)
                                   : GetBackendTypeDesc(session->st_backendType);
            values[4] = CStringGetTextDatum(type != nullptr ? type : "");
            nulls[4] = type == nullptr;
            if (may_see_session_of(session->st_userid, all)) {
                const char *state = backend_state_name(session->st_state);
                values[5] = state != nullptr ? CStringGetTextDatum(state) : static_cast<Datum>(0);
                nulls[5] = state == nullptr;
                values[6] = TimestampTzGetDatum(session->st_xact_start_timestamp);
                nulls[6] = session->st_xact_start_timestamp == 0;
                values[7] = CStringGetTextDatum(pgstat_clip_activity(session->st_activity_raw));
            } else {
                nulls[5] = nulls[6] = true;
                values[7] = CStringGetTextDatum(kHiddenText);
            }
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        return static_cast<Datum>(0);
    });
}
