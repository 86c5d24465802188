#include "pg/settings.hpp"

#include "pg/pg_prelude.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace lockguard::pg {

Settings settings = {
    /* default_timeout_ms */ 10000,
    /* max_locks_per_backend */ 64,
    /* aging_ms */ 20,
};

void define_settings() {
    DefineCustomIntVariable("lockguard.default_timeout_ms",
                            "Longest time a lockguard acquisition waits when the call names no timeout_ms.",
                            "0 means do not wait at all: fail at once if the lock is taken.",
                            &settings.default_timeout_ms, 10000, 0, kMaxTimeoutMs, PGC_USERSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lockguard.max_locks_per_backend",
                            "Number of distinct lockguard locks one backend can hold or await at once.",
                            "Sizes lockguard's shared memory; each entry also records the resource name "
                            "shown in lockguard.locks.",
                            &settings.max_locks_per_backend, 64, 8, 65536, PGC_POSTMASTER, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("lockguard.aging_ms",
                            "Waiting this long raises a lockguard waiter's priority by one step.",
                            "Bounds how long a low-priority waiter can be overtaken; 0 turns aging off "
                            "(strict priority, which can starve low priorities).",
                            &settings.aging_ms, 20, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
}

}  // namespace lockguard::pg
