#include "pg/state/tenant_hooks.hpp"

namespace lockguard::pg {

namespace {

void no_slot(int /*tenant_slot*/) {}
void nothing() {}
double no_share(int /*tenant_slot*/) { return 0.0; }
void no_transaction(bool /*publish*/) {}

TenantCallbacks callbacks{no_slot, no_slot, nothing, nothing, no_share, no_transaction};

}  // namespace

void set_tenant_callbacks(const TenantCallbacks &registered_callbacks) { callbacks = registered_callbacks; }

const TenantCallbacks &tenant_callbacks() { return callbacks; }

}  // namespace lockguard::pg
