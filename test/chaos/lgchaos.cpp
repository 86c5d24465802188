// lgchaos: the chaos driver of lockguard's hardening tests (test/chaos/run.sh).
//
// N client threads, one libpq connection each, run random lockguard transactions for a bounded
// time: named, row, table and multi-acquisitions with short timeouts and random priorities,
// deliberate deadlocks, rollbacks, savepoints rolled back and released, PL/pgSQL exception blocks
// that swallow a timeout, lockguard_run retries, prepared transactions (refused with lockguard
// locks, holding plain row locks otherwise), statement timeouts that
// fire mid-wait, and clients that disconnect while holding. Clients connect as three roles (two
// with tenant budgets, one refused often). A killer thread sends pg_cancel_backend and
// pg_terminate_backend to random clients all the while; a terminated client reconnects.
//
// Every error must be one that chaos explains: lock timeout (55P03), deadlock (40P01), cancel
// or statement timeout (57014), termination (57P01), tenant budget refusals (LG001, LG002), or a
// lost connection. Anything else is counted as unexpected and printed. At the end every client
// disconnects and leftover prepared transactions are rolled back. Prints one summary line
// "key=value ..." and exits 1 if anything unexpected happened (the caller checks the server).
//
//   lgchaos --conninfo 'host=/tmp/s port=5432 dbname=chaos' --clients 32 --seconds 60
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string conninfo;
    int clients = 32;
    double seconds = 60;
    int hot_keys = 6;  // named resources and rows everyone fights over
    unsigned seed = 1;
};

// Everything counted, by name; printed sorted at the end.
class Counters {
public:
    void add(const std::string &key, long n = 1) {
        std::lock_guard<std::mutex> guard(mutex_);
        counts_[key] += n;
    }
    long get(const std::string &key) {
        std::lock_guard<std::mutex> guard(mutex_);
        auto it = counts_.find(key);
        return it == counts_.end() ? 0 : it->second;
    }
    std::string summary() {
        std::lock_guard<std::mutex> guard(mutex_);
        std::string out;
        for (const auto &[key, value] : counts_) out += (out.empty() ? "" : " ") + key + "=" + std::to_string(value);
        return out;
    }

private:
    std::mutex mutex_;
    std::map<std::string, long> counts_;
};

Counters counters;
std::atomic<bool> stopping{false};
std::mutex unexpected_mutex;
int unexpected_printed = 0;

void report_unexpected(const std::string &what) {
    counters.add("unexpected");
    std::lock_guard<std::mutex> guard(unexpected_mutex);
    if (unexpected_printed++ < 30) std::fprintf(stderr, "unexpected: %s\n", what.c_str());
}

// The outcome of one statement: "" when it succeeded, else its SQLSTATE ("lost" when the
// connection broke).
struct Outcome {
    std::string sqlstate;
    std::string message;
    bool ok() const { return sqlstate.empty(); }
};

bool expected_error(const std::string &state) {
    return state == "55P03" || state == "40P01" || state == "57014" || state == "57P01" || state == "LG001" ||
           state == "LG002" || state == "lost";
}

class Client {
public:
    Client(const Options &options, int id, const std::string &role, std::atomic<int> *pid_slot)
        : options_(options), id_(id), role_(role), pid_slot_(pid_slot), random_(options.seed * 7919u + id) {}

    void run(Clock::time_point end) {
        while (Clock::now() < end) {
            if (!connected() && !connect()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            one_transaction();
            counters.add("transactions");
        }
        disconnect();
    }

private:
    const Options &options_;
    int id_;
    std::string role_;
    std::atomic<int> *pid_slot_;
    std::mt19937 random_;
    PGconn *conn_ = nullptr;
    std::string pending_gid_;  // a transaction this client prepared and has not finished

    int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
    int hot_key() { return pick(1, options_.hot_keys); }
    int short_timeout() { return chance(0.2) ? 0 : pick(1, 60); }

    bool connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

    bool connect() {
        disconnect();
        std::string conninfo = options_.conninfo + " user=" + role_ + " application_name=lockguard-chaos";
        conn_ = PQconnectdb(conninfo.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            counters.add("connect_failed");
            disconnect();
            return false;
        }
        // A termination's FATAL often arrives between queries, as a notice: the lost connection
        // is what counts (reconnects), the text would only fill the log.
        PQsetNoticeProcessor(conn_, [](void *, const char *) {}, nullptr);
        // Plain statements (UPDATE, LOCK) wait without lockguard: bound them too.
        if (!exec("SET statement_timeout = '3s'").ok()) return false;
        if (!pending_gid_.empty()) {  // prepared before this client was terminated: finish it
            Outcome outcome = exec("ROLLBACK PREPARED '" + pending_gid_ + "'");
            if (outcome.ok()) counters.add("prepared_left_and_rolled_back");
            pending_gid_.clear();
        }
        PGresult *result = PQexec(conn_, "SELECT pg_backend_pid()");
        if (PQresultStatus(result) == PGRES_TUPLES_OK) pid_slot_->store(std::atoi(PQgetvalue(result, 0, 0)));
        PQclear(result);
        counters.add("connections");
        return true;
    }

    void disconnect() {
        pid_slot_->store(0);
        if (conn_ != nullptr) PQfinish(conn_);
        conn_ = nullptr;
    }

    Outcome exec(const std::string &sql) {
        if (!connected()) return {"lost", "not connected"};
        PGresult *result = PQexec(conn_, sql.c_str());
        ExecStatusType status = PQresultStatus(result);
        Outcome outcome;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            // A termination still carries its 57P01; a connection that just broke carries none.
            const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            outcome.sqlstate = state != nullptr ? state : PQstatus(conn_) != CONNECTION_OK ? "lost" : "none";
            const char *message = PQresultErrorMessage(result);
            outcome.message = message != nullptr ? message : "";
        }
        PQclear(result);
        return outcome;
    }

    // Counts an error and checks it is one that chaos explains.
    void count_error(const Outcome &outcome, const std::string &sql) {
        counters.add("error_" + outcome.sqlstate);
        if (!expected_error(outcome.sqlstate))
            report_unexpected(outcome.sqlstate + " from " + sql + ": " + outcome.message);
    }

    // Back to no transaction after an error; a rollback may itself be cancelled: try again.
    void recover() {
        for (int attempt = 0; attempt < 3 && connected(); attempt++) {
            if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
            Outcome outcome = exec("ROLLBACK");
            if (!outcome.ok() && outcome.sqlstate != "57014" && outcome.sqlstate != "57P01" &&
                outcome.sqlstate != "lost")
                report_unexpected(outcome.sqlstate + " from ROLLBACK: " + outcome.message);
        }
        if (connected() && PQtransactionStatus(conn_) != PQTRANS_IDLE) disconnect();
        if (!connected()) counters.add("reconnects");
    }

    // Runs the statements in order; stops at the first error, counts it and rolls back.
    bool run_steps(const std::vector<std::string> &steps) {
        for (const std::string &sql : steps) {
            Outcome outcome = exec(sql);
            if (!outcome.ok()) {
                count_error(outcome, sql);
                recover();
                return false;
            }
        }
        return true;
    }

    std::string named(int key) { return "'chaos:" + std::to_string(key) + "'"; }

    std::string acquire_named(int key, int timeout, const char *mode = "exclusive") {
        return "SELECT lockguard_acquire(" + named(key) + ", mode => '" + mode +
               "', timeout_ms => " + std::to_string(timeout) + ", priority => " + std::to_string(pick(-100, 100)) +
               ")";
    }

    std::string acquire_row(int key, int timeout, const char *mode = "FOR UPDATE") {
        return "SELECT lockguard_acquire_row('chaos_accounts', " + std::to_string(key) + ", mode => '" + mode +
               "', timeout_ms => " + std::to_string(timeout) + ", priority => " + std::to_string(pick(-100, 100)) +
               ")";
    }

    std::string update_row(int key) {
        return "UPDATE chaos_accounts SET balance = balance + 1 WHERE id = " + std::to_string(key);
    }

    std::string finish() {
        if (chance(0.25)) {
            counters.add("rollbacks");
            return "ROLLBACK";
        }
        return "COMMIT";
    }

    // Leaves mid-transaction now and then: the backend exits holding its locks.
    bool maybe_vanish() {
        if (!chance(0.02)) return false;
        counters.add("vanished_holding");
        disconnect();
        return true;
    }

    void one_transaction() {
        int kind = pick(0, 99);
        if (kind < 18) {  // named lock, a short wait, commit or rollback
            const char *mode = chance(0.3) ? "shared" : "exclusive";
            if (!run_steps({"BEGIN", acquire_named(hot_key(), short_timeout(), mode)})) return;
            if (maybe_vanish()) return;
            if (run_steps({"SELECT pg_sleep(0.002)", finish()})) counters.add("ok_named");
        } else if (kind < 34) {  // row lock and update
            static const char *modes[] = {"FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE"};
            int key = hot_key();
            const char *mode = modes[pick(0, 3)];
            std::vector<std::string> steps{"BEGIN", acquire_row(key, short_timeout(), mode)};
            if (mode == modes[0] || mode == modes[1]) steps.push_back(update_row(key));
            if (!run_steps(steps)) return;
            if (maybe_vanish()) return;
            if (run_steps({finish()})) counters.add("ok_row");
        } else if (kind < 44) {  // multi-acquire: named and rows in one canonical order
            int a = hot_key(), b = hot_key();
            std::string sql = "SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock(" + named(a) +
                              "), lockguard.row_lock('chaos_accounts', " + std::to_string(b) +
                              "), lockguard.named_lock(" + named(hot_key()) + ", 'shared')], timeout_ms => " +
                              std::to_string(short_timeout()) + ")";
            if (run_steps({"BEGIN", sql, update_row(b), finish()})) counters.add("ok_multi");
        } else if (kind < 54) {  // two named locks in random order: deadlocks on purpose
            int a = 101, b = 102;
            if (chance(0.5)) std::swap(a, b);
            if (run_steps({"BEGIN", acquire_named(a, 2000), "SELECT pg_sleep(0.01)", acquire_named(b, 2000),
                           "COMMIT"}))
                counters.add("ok_deadlock_pair");
        } else if (kind < 60) {  // a row and a named lock in random order: mixed deadlocks
            bool row_first = chance(0.5);
            std::string row = acquire_row(100, 2000), name = acquire_named(103, 2000);
            if (run_steps({"BEGIN", row_first ? row : name, "SELECT pg_sleep(0.01)", row_first ? name : row,
                           update_row(100), "COMMIT"}))
                counters.add("ok_mixed_pair");
        } else if (kind < 72) {
            savepoints();
        } else if (kind < 78) {  // an exception block swallows a timeout (subtransaction abort)
            std::string sql = "DO $$ BEGIN PERFORM lockguard_acquire(" + named(hot_key()) + ", timeout_ms => " +
                              std::to_string(pick(0, 20)) + "); EXCEPTION WHEN lock_not_available THEN NULL; END $$";
            if (run_steps({"BEGIN", sql, acquire_named(hot_key(), short_timeout()), finish()}))
                counters.add("ok_exception_block");
        } else if (kind < 86) {  // the retry envelope
            int key = hot_key();
            std::string sql = "SELECT attempts FROM lockguard_run(ARRAY[lockguard.row_lock('chaos_accounts', " +
                              std::to_string(key) + "), lockguard.named_lock(" + named(hot_key()) +
                              ")], 'chaos_work(jsonb)', '{\"id\": " + std::to_string(key) +
                              "}', max_attempts => 3, timeout_ms => " + std::to_string(pick(1, 30)) +
                              ", backoff_base_ms => 2, backoff_max_ms => 10)";
            if (run_steps({"BEGIN", sql, "COMMIT"})) counters.add("ok_run");
        } else if (kind < 90) {  // table locks, shared and exclusive
            const char *mode = chance(0.7) ? "ROW EXCLUSIVE" : "SHARE";
            std::string sql = "SELECT lockguard_acquire_table('chaos_accounts', '" + std::string(mode) +
                              "', timeout_ms => " + std::to_string(short_timeout()) + ")";
            if (run_steps({"BEGIN", sql, finish()})) counters.add("ok_table");
        } else if (kind < 94) {  // a statement timeout fires while lockguard waits
            if (run_steps({"BEGIN", "SET LOCAL statement_timeout = '15ms'", acquire_named(hot_key(), 5000),
                           "SELECT pg_sleep(0.03)", "COMMIT"}))
                counters.add("ok_statement_timeout_survived");
        } else if (kind < 97) {  // two-phase commit: lockguard refuses PREPARE while its locks are held
            // (0A000, the transaction rolls back); a plain row lock prepares, and lockguard
            // callers wait for the prepared transaction within their timeouts.
            if (chance(0.3)) {
                if (!run_steps({"BEGIN", acquire_named(hot_key(), short_timeout())})) return;
                Outcome refused = exec("PREPARE TRANSACTION 'chaos-refused-" + std::to_string(id_) + "'");
                if (refused.sqlstate == "0A000")
                    counters.add("ok_prepare_refused");
                else if (!refused.ok())
                    count_error(refused, "PREPARE TRANSACTION");
                else
                    report_unexpected("PREPARE TRANSACTION with a lockguard lock was not refused");
                recover();
                return;
            }
            std::string gid = "chaos-" + std::to_string(id_) + "-" + std::to_string(pick(0, 1 << 30));
            pending_gid_ = gid;
            if (!run_steps({"BEGIN", "SELECT id FROM chaos_accounts WHERE id = " + std::to_string(hot_key()) + " FOR UPDATE",
                            "PREPARE TRANSACTION '" + gid + "'"})) {
                pending_gid_.clear();  // never prepared (a termination leaves it to connect())
                return;
            }
            if (run_steps({(chance(0.5) ? "COMMIT PREPARED '" : "ROLLBACK PREPARED '") + gid + "'"})) {
                pending_gid_.clear();
                counters.add("ok_prepared");
            }
        } else if (role_ == "chaos_b") {  // another tenant: chaos_b may choose one
            if (run_steps({"BEGIN", "SET LOCAL lockguard.tenant = 'chaos_a'", acquire_named(hot_key(), short_timeout()),
                           finish()}))
                counters.add("ok_tenant_switch");
        } else {
            if (run_steps({"BEGIN", acquire_named(hot_key(), short_timeout()), finish()})) counters.add("ok_named");
        }
    }

    // A savepoint whose acquisitions are rolled back to or released, and locks after it.
    void savepoints() {
        if (!run_steps({"BEGIN", acquire_named(hot_key(), short_timeout()), "SAVEPOINT s1"})) return;
        Outcome outcome = exec(acquire_row(hot_key(), short_timeout()));
        if (!outcome.ok()) {
            count_error(outcome, "acquire in savepoint");
            if (outcome.sqlstate != "55P03" && outcome.sqlstate != "LG001" && outcome.sqlstate != "LG002") {
                recover();
                return;
            }
        }
        bool roll_back = !outcome.ok() || chance(0.5);
        if (!run_steps({roll_back ? "ROLLBACK TO SAVEPOINT s1" : "RELEASE SAVEPOINT s1"})) return;
        counters.add(roll_back ? "savepoint_rollbacks" : "savepoint_releases");
        if (run_steps({"SAVEPOINT s2", acquire_named(hot_key(), short_timeout()), "RELEASE SAVEPOINT s2", finish()}))
            counters.add("ok_savepoints");
    }
};

// Sends cancels and terminations to random clients until told to stop.
void killer(const Options &options, std::vector<std::atomic<int>> &pids) {
    std::mt19937 random(options.seed);
    PGconn *conn = PQconnectdb((options.conninfo + " application_name=lockguard-chaos-killer").c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        report_unexpected(std::string("killer cannot connect: ") + PQerrorMessage(conn));
        PQfinish(conn);
        return;
    }
    // "PID n is not a PostgreSQL backend process": the client had just gone. Not news.
    PQsetNoticeProcessor(conn, [](void *, const char *) {}, nullptr);
    while (!stopping.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(10, 80)(random)));
        int pid = pids[std::uniform_int_distribution<size_t>(0, pids.size() - 1)(random)].load();
        if (pid == 0) continue;
        bool terminate = std::uniform_int_distribution<int>(0, 99)(random) < 20;
        std::string sql = std::string(terminate ? "SELECT pg_terminate_backend(" : "SELECT pg_cancel_backend(") +
                          std::to_string(pid) + ")";
        PGresult *result = PQexec(conn, sql.c_str());
        if (PQresultStatus(result) == PGRES_TUPLES_OK && std::strcmp(PQgetvalue(result, 0, 0), "t") == 0)
            counters.add(terminate ? "terminates_sent" : "cancels_sent");
        else if (PQresultStatus(result) != PGRES_TUPLES_OK)
            report_unexpected(std::string("killer: ") + PQresultErrorMessage(result));
        PQclear(result);
    }
    PQfinish(conn);
}

// Prepared transactions left by clients that were terminated between PREPARE and COMMIT.
void roll_back_leftover_prepared(const Options &options) {
    PGconn *conn = PQconnectdb(options.conninfo.c_str());
    PGresult *result = PQexec(conn, "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'chaos-%'");
    if (PQresultStatus(result) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(result); i++) {
            std::string sql = std::string("ROLLBACK PREPARED '") + PQgetvalue(result, i, 0) + "'";
            PGresult *done = PQexec(conn, sql.c_str());
            if (PQresultStatus(done) != PGRES_COMMAND_OK)
                report_unexpected(std::string("cleanup: ") + PQresultErrorMessage(done));
            else
                counters.add("prepared_left_and_rolled_back");
            PQclear(done);
        }
    } else {
        report_unexpected(std::string("cleanup: ") + PQresultErrorMessage(result));
    }
    PQclear(result);
    PQfinish(conn);
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: lgchaos --conninfo CONNINFO [--clients N] [--seconds S] [--hot-keys K] [--seed N]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
    Options options;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (i + 1 >= argc) usage();
        std::string value = argv[++i];
        if (arg == "--conninfo") options.conninfo = value;
        else if (arg == "--clients") options.clients = std::atoi(value.c_str());
        else if (arg == "--seconds") options.seconds = std::atof(value.c_str());
        else if (arg == "--hot-keys") options.hot_keys = std::atoi(value.c_str());
        else if (arg == "--seed") options.seed = static_cast<unsigned>(std::atol(value.c_str()));
        else usage();
    }
    if (options.conninfo.empty() || options.clients < 1 || options.seconds <= 0 || options.hot_keys < 1) usage();

    // Roles: chaos_a has a tight budget (refusals), chaos_b a loose one, chaos_c none.
    static const char *roles[] = {"chaos_a", "chaos_b", "chaos_c"};
    std::vector<std::atomic<int>> pids(options.clients);
    for (auto &pid : pids) pid.store(0);
    auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(options.seconds * 1000));
    std::vector<std::thread> threads;
    for (int i = 0; i < options.clients; i++)
        threads.emplace_back([&, i] { Client(options, i, roles[i % 3], &pids[i]).run(end); });
    std::thread killer_thread([&] { killer(options, pids); });
    for (auto &thread : threads) thread.join();
    stopping.store(true);
    killer_thread.join();
    roll_back_leftover_prepared(options);

    std::printf("%s\n", counters.summary().c_str());
    return counters.get("unexpected") == 0 ? 0 : 1;
}
