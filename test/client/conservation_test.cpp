// The conservation test: threads move money among a few accounts through run_with_lock, each
// transfer under a run-once key, while fn also locks extra rows in random order (so real
// deadlocks happen) and another thread terminates client backends at random (some of them in
// the middle of COMMIT). Afterwards the total is unchanged and every transfer is there exactly
// once. LG_CLIENT_THREADS and LG_CLIENT_TRANSFERS (per thread) size it: 8 x 1000 by default.
#include "support.hpp"

#include <atomic>
#include <map>
#include <random>

using namespace lgtest;
using lockguard::client::Error;
using lockguard::client::LockContext;
using lockguard::client::Metrics;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::RunResult;
using lockguard::client::Transaction;

namespace {
int env_int(const char *name, int fallback) {
    const char *v = std::getenv(name);
    return v != nullptr ? std::atoi(v) : fallback;
}

constexpr int kAccounts = 6;
constexpr int kExtras = 4;
constexpr int64_t kInitial = 1000000;

// What the threads share: the run's key prefix, every thread's current backend (for the killer),
// and the counters and first error of each thread.
struct Bank {
    Bank(int threads, std::string run_id)
        : threads(threads), run_id(std::move(run_id)), pids(static_cast<size_t>(threads)),
          errors(static_cast<size_t>(threads)) {}
    const int threads;
    const std::string run_id;
    Metrics metrics;
    std::vector<std::atomic<int>> pids;
    std::atomic<bool> done{false};
    std::atomic<int> deadlocks{0};
    std::atomic<int> replays{0};
    std::atomic<int> kills{0};
    std::atomic<int> failures{0};
    std::vector<std::string> errors;
};

// Terminates a client backend at random every 150 ms until the workers are done.
void kill_backends(Bank &bank) {
    Admin k;
    std::mt19937 rng(42);
    while (!bank.done.load()) {
        sleep_ms(150);
        int pid = bank.pids[rng() % static_cast<unsigned>(bank.threads)].load();
        if (pid != 0) {
            k.exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)});
            ++bank.kills;
        }
    }
}

// One transfer of thread `me` under its run-once key; fn also locks two extra rows in random
// order, so that transfers deadlock.
void transfer(Bank &bank, LockContext &ctx, std::mt19937 &rng, int me, int i) {
    int64_t src = 1 + static_cast<int64_t>(rng() % kAccounts);
    int64_t dst = 1 + static_cast<int64_t>(rng() % (kAccounts - 1));
    if (dst >= src) ++dst;
    const int64_t amount = 1 + static_cast<int64_t>(rng() % 100);
    int e1 = 1 + static_cast<int>(rng() % kExtras);
    int e2 = 1 + static_cast<int>(rng() % (kExtras - 1));
    if (e2 >= e1) ++e2;
    Options o;
    o.operation_key = "conservation:" + bank.run_id + ":" + std::to_string(me) + ":" + std::to_string(i);
    o.deadline_ms = 120000;
    o.max_attempts = 100;
    o.backoff = {5, 200, 2.0};
    const std::string key = o.operation_key;
    RunResult r = ctx.run_with_lock(
        {Resource::row("client_bank", src), Resource::row("client_bank", dst)},
        [&](Transaction &tx) {
            bank.pids[static_cast<size_t>(me)] = tx.backend_pid();
            tx.exec("SET LOCAL deadlock_timeout = '20ms'");
            tx.exec("UPDATE client_extras SET touched = touched + 1 WHERE id = $1", {std::to_string(e1)});
            tx.exec("UPDATE client_extras SET touched = touched + 1 WHERE id = $1", {std::to_string(e2)});
            tx.exec("UPDATE client_bank SET balance = balance - $1 WHERE id = $2",
                    {std::to_string(amount), std::to_string(src)});
            tx.exec("UPDATE client_bank SET balance = balance + $1 WHERE id = $2",
                    {std::to_string(amount), std::to_string(dst)});
            tx.exec("INSERT INTO client_transfers VALUES ($1, $2, $3, $4)",
                    {key, std::to_string(src), std::to_string(dst), std::to_string(amount)});
            return std::string("{}");
        },
        o);
    for (const auto &a : r.stats.attempt_log) bank.deadlocks += a.sqlstate == "40P01" ? 1 : 0;
    bank.replays += r.replayed ? 1 : 0;
}

void transfers(Bank &bank, int me, int per_thread) {
    LockContext ctx(conninfo(), &bank.metrics);
    std::mt19937 rng(static_cast<unsigned>(me) * 7919u + 1u);
    for (int i = 0; i < per_thread; ++i) {
        try {
            transfer(bank, ctx, rng, me, i);
        } catch (const std::exception &e) {
            ++bank.failures;
            if (bank.errors[static_cast<size_t>(me)].empty()) bank.errors[static_cast<size_t>(me)] = e.what();
        }
    }
    bank.pids[static_cast<size_t>(me)] = 0;
}
}  // namespace

TEST(Conservation, TransfersUnderDeadlocksAndKilledBackends) {
    const int threads = env_int("LG_CLIENT_THREADS", 8);
    const int per_thread = env_int("LG_CLIENT_TRANSFERS", 1000);
    const int accounts = kAccounts;
    const int64_t initial = kInitial;
    Admin admin;
    admin.exec("DROP TABLE IF EXISTS client_bank, client_extras, client_transfers");
    admin.exec("CREATE TABLE client_bank (id bigint PRIMARY KEY, balance bigint NOT NULL)");
    admin.exec("INSERT INTO client_bank SELECT g, $1::bigint FROM generate_series(1, $2::int) g",
               {std::to_string(initial), std::to_string(accounts)});
    admin.exec("CREATE TABLE client_extras (id int PRIMARY KEY, touched bigint NOT NULL DEFAULT 0)");
    admin.exec("INSERT INTO client_extras SELECT g FROM generate_series(1, $1::int) g", {std::to_string(kExtras)});
    admin.exec("CREATE TABLE client_transfers (key text PRIMARY KEY, src bigint, dst bigint, amount bigint)");
    const std::string run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

    Bank bank(threads, run_id);
    std::thread killer(kill_backends, std::ref(bank));
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t) pool.emplace_back(transfers, std::ref(bank), t, per_thread);
    for (auto &t : pool) t.join();
    bank.done = true;
    killer.join();
    const int64_t took = ms_since(start);

    for (int t = 0; t < threads; ++t) EXPECT_EQ(bank.errors[static_cast<size_t>(t)], "") << "thread " << t;
    EXPECT_EQ(bank.failures.load(), 0);
    const int64_t total = static_cast<int64_t>(threads) * static_cast<int64_t>(per_thread);
    EXPECT_EQ(admin.num("SELECT sum(balance) FROM client_bank"), initial * accounts) << "money was created or lost";
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_transfers"), total) << "a transfer was lost";
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_transfers WHERE key LIKE $1", {"conservation:" + run_id + ":%"}), total);
    EXPECT_EQ(admin.num("SELECT count(*) FROM lockguard.operations WHERE key LIKE $1", {"conservation:" + run_id + ":%"}), total);
    // Every account's balance is what its recorded transfers say: nothing ran twice or half.
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_bank b WHERE balance <> $1::bigint "
                        "+ coalesce((SELECT sum(amount) FROM client_transfers WHERE dst = b.id), 0) "
                        "- coalesce((SELECT sum(amount) FROM client_transfers WHERE src = b.id), 0)",
                        {std::to_string(initial)}),
              0);
    EXPECT_GT(bank.deadlocks.load(), 0) << "no deadlock happened: the test did not test retries of 40P01";
    EXPECT_GT(bank.kills.load(), 0);
    const uint64_t lost_retries = bank.metrics.retries("connection") + bank.metrics.retries("server") +
                                  bank.metrics.retries("outcome_unknown");
    std::printf("conservation: %lld transfers by %d threads in %lld ms; %d deadlocks retried, %d backends "
                "terminated, %d replays of an outcome-unknown commit, %llu retries after a lost connection or "
                "57P01\n",
                static_cast<long long>(total), threads, static_cast<long long>(took), bank.deadlocks.load(), bank.kills.load(),
                bank.replays.load(),
                static_cast<unsigned long long>(lost_retries));
}
