// A transfer service in a few dozen lines: moves money between two rows of
//   CREATE TABLE client_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
// under lockguard row locks, run once per request key, retried as docs/client.md says.
//
//   transfer_service FROM TO AMOUNT REQUEST-KEY      (connection: LG_CLIENT_CONNINFO or PG* variables)
#include <lockguard/client.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using lockguard::client::Error;
using lockguard::client::LockContext;
using lockguard::client::Metrics;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::Transaction;

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s FROM TO AMOUNT REQUEST-KEY\n", argv[0]);
        return 2;
    }
    const std::string from = argv[1];
    const std::string to = argv[2];
    const std::string amount = argv[3];
    const char *conninfo = std::getenv("LG_CLIENT_CONNINFO");
    Metrics metrics;
    LockContext ctx(conninfo != nullptr ? conninfo : "", &metrics);
    Options options;
    options.operation_key = std::string("transfer:") + argv[4];  // chosen once, kept for every retry
    options.deadline_ms = 10000;
    try {
        auto r = ctx.run_with_lock(
            {Resource::row("client_accounts", std::stoll(from)), Resource::row("client_accounts", std::stoll(to))},
            [&](Transaction &tx) {
                auto debit = tx.exec("UPDATE client_accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1",
                                     {amount, from});
                if (debit.affected != 1) throw std::runtime_error("insufficient funds");
                tx.exec("UPDATE client_accounts SET balance = balance + $1 WHERE id = $2", {amount, to});
                return "{\"from\": " + from + ", \"to\": " + to + ", \"amount\": " + amount + "}";
            },
            options);
        std::printf("%s %s attempts=%d lock_wait_ms=%lld\n", r.replayed ? "replayed" : "done", r.result.c_str(),
                    r.stats.attempts, static_cast<long long>(r.stats.lock_wait_ms));
    } catch (const Error &e) {
        std::fprintf(stderr, "failed: %s (SQLSTATE %s) after %d attempts\n", e.what(), e.sqlstate().c_str(), e.attempts());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "refused: %s\n", e.what());
        return 1;
    }
    std::fputs(metrics.prometheus_text().c_str(), stdout);
    return 0;
}
