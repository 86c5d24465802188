// Named scope, and the acquisition of a resolved request of any scope.
#include "pg/acquire/scoped_lock.hpp"

#include "core/resource_key.hpp"
#include "core/trace_context.hpp"
#include "pg/infra/clip.hpp"

namespace lockguard::pg {

void set_named_mode(ScopedRequest *request, NamedLockMode mode) {
    request->gate.lock.ref.mode = mode == NamedLockMode::Exclusive ? ExclusiveLock : ShareLock;
    strlcpy(request->gate.lock.mode_name, named_lock_mode_name(mode), sizeof(request->gate.lock.mode_name));
}

void resolve_named(ScopedRequest *request, std::string_view name, const char *mode, int32 priority,
                   const Deadline *deadline) {
    memset(request, 0, sizeof(*request));
    request->gate.deadline = deadline;
    NamedLockMode named_mode = parse_named_lock_mode(mode);
    uint64_t key = named_resource_key(name);
    PublishedLock &lock = request->gate.lock;
    lock.ref = LockRef{MyDatabaseId, key_high(key), key_low(key), LockSpace::Named, NoLock};
    set_named_mode(request, named_mode);
    lock.scope = LockScope::Named;
    lock.priority = priority;
    copy_clipped(lock.name, sizeof(lock.name), name.data(), name.size());  // callers checked the limit
    std::string_view resource_class = named_resource_class(name);
    copy_clipped(request->gate.lock.resource_class, sizeof(request->gate.lock.resource_class), resource_class.data(),
                 resource_class.size());
}

bool acquire_scoped(ScopedRequest *request) {
    LockOutcome outcome = take_lock(&request->gate);  // also says whose budget the later steps count in
    bool found = true;
    switch (request->gate.lock.scope) {
        case LockScope::Named:
            break;
        case LockScope::Row:
            found = lock_row(request);
            break;
        case LockScope::Table:
            lock_table(request);
            break;
    }
    if (outcome != LockOutcome::AlreadyHeld) {
        // A contended acquisition (at the gate, or at the row or table behind it) waited from the
        // start to now; an uncontended one not at all.
        bool waited = outcome == LockOutcome::GrantedAfterWait || request->phase_waited;
        record_granted(request->gate, waited ? request->gate.deadline->waited_us(now_us()) : 0);
    }
    return found;
}

}  // namespace lockguard::pg
