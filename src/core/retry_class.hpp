// Which failures a client retries, by SQLSTATE: the table of docs/failover.md ("The client's
// retry loop") and docs/client.md in one place, shared by the C++ client library (client/).
//
// A retry is of the whole transaction, after a real ROLLBACK (or on a new connection). The class
// decides the backoff schedule too: a tenant refused by its budget (LG001, LG002) backs off on a
// schedule of its own, because its own traffic, not a single holder, is what has to drain.
#pragma once

#include <string_view>

namespace lockguard {

enum class RetryClass {
    Lock,        // 55P03 lock not available, 40P01 deadlock, 40001 serialization failure
    Tenant,      // LG001, LG002: the tenant's budget refused the lock
    Server,      // 57P01-57P03 shutting down / cannot connect now, 25006 read-only (a standby)
    Connection,  // no SQLSTATE: the connection was lost (before COMMIT was sent)
    Fatal,       // anything else: LG003, 22xxx, 42xxx, 57014 (a cancel, statement_timeout), ...
};

// The class of a server error. An empty code means the connection was lost: Connection.
// Codes are compared exactly (five characters, upper case as PostgreSQL sends them).
RetryClass classify_sqlstate(std::string_view code) noexcept;

// Whether the class is retried at all.
constexpr bool retryable(RetryClass c) noexcept { return c != RetryClass::Fatal; }

// A short name for logs and metrics labels: "lock", "tenant", "server", "connection", "fatal".
const char *retry_class_name(RetryClass c) noexcept;

// Whether an error reported for a COMMIT means the commit's outcome is unknown: the connection
// was lost (empty code) or the server ended the session (class 57P0x, 08xxx) while it ran. Any
// other error (40001 at commit, a deferred constraint) means the transaction rolled back.
bool commit_outcome_unknown(std::string_view code) noexcept;

}  // namespace lockguard
