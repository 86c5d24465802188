// What happens to lockguard's per-backend state when (sub)transactions end: held locks are
// forgotten as PostgreSQL releases them, and the wait slot is cleared on every exit path
// (including FATAL, which skips PG_CATCH).
#pragma once

namespace lockguard::pg {

// Registers this backend's transaction callbacks on first use.
void ensure_transaction_tracking();

}  // namespace lockguard::pg
