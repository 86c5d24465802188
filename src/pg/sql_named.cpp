// SQL entry points for named resources: lockguard_acquire(resource, timeout_ms, priority, mode).
#include "core/lock_mode.hpp"
#include "core/resource_key.hpp"
#include "pg/boundary.hpp"
#include "pg/lock_wait.hpp"
#include "pg/shmem.hpp"
#include "pg/sql_arguments.hpp"

extern "C" {
#include "utils/builtins.h"

PGDLLEXPORT Datum lockguard_acquire_named(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_check_preloaded(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_acquire_named);
PG_FUNCTION_INFO_V1(lockguard_check_preloaded);
}

using namespace lockguard;
using namespace lockguard::pg;

Datum lockguard_acquire_named(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire");
        std::string_view name = resource_name_argument(fcinfo, 0);
        int timeout_ms = timeout_argument(fcinfo, 1);
        int32 priority = priority_argument(fcinfo, 2);
        NamedLockMode mode = parse_named_lock_mode(text_argument_or(fcinfo, 3, "exclusive"));

        LockRequest request{};
        uint64_t key = named_resource_key(name);
        request.lock.ref = LockRef{MyDatabaseId, key_high(key), key_low(key), LockSpace::Named,
                                   mode == NamedLockMode::Exclusive ? ExclusiveLock : ShareLock};
        request.lock.scope = LockScope::Named;
        request.lock.priority = priority;
        strlcpy(request.lock.mode_name, named_lock_mode_name(mode), sizeof(request.lock.mode_name));
        memcpy(request.lock.name, name.data(), name.size());
        request.lock.name[name.size()] = '\0';
        request.timeout_ms = timeout_ms;
        (void) take_lock(request);
        PG_RETURN_VOID();
    });
}

Datum lockguard_check_preloaded(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        PG_RETURN_VOID();
    });
}
