#include "core/retry_class.hpp"

#include "core/sqlstate.hpp"

namespace lockguard {

RetryClass classify_sqlstate(std::string_view code) noexcept {
    if (code.empty()) return RetryClass::Connection;
    if (code == "55P03" || code == "40P01" || code == "40001") return RetryClass::Lock;
    if (code == sqlstate::kTenantHeldBudget || code == sqlstate::kTenantWaiterBudget) return RetryClass::Tenant;
    if (code == "57P01" || code == "57P02" || code == "57P03" || code == "25006") return RetryClass::Server;
    // 08xxx: libpq reports a connection failure under this class in some paths.
    if (code.size() == 5 && code.substr(0, 2) == "08") return RetryClass::Connection;
    return RetryClass::Fatal;
}

const char *retry_class_name(RetryClass c) noexcept {
    switch (c) {
        case RetryClass::Lock: return "lock";
        case RetryClass::Tenant: return "tenant";
        case RetryClass::Server: return "server";
        case RetryClass::Connection: return "connection";
        case RetryClass::Fatal: return "fatal";
    }
    return "fatal";
}

bool commit_outcome_unknown(std::string_view code) noexcept {
    if (code.empty()) return true;
    if (code == "57P01" || code == "57P02" || code == "57P03") return true;
    return code.size() == 5 && code.substr(0, 2) == "08";
}

}  // namespace lockguard
