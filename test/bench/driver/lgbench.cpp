// lgbench: closed-loop load driver for lockguard's benchmark harness.
//
// N client threads, one libpq connection each (unix socket), run one scenario's transaction in a
// closed loop: warm-up, then a measured window of D seconds; a transaction counts when it starts
// inside the window (its whole latency, even if it ends after it). Every transaction is a list of SQL
// statements with parameters drawn per transaction; the lock statement(s) are timed apart from the
// whole transaction. Outcomes: committed, lock timeout (55P03), deadlock (40P01), refused by a
// tenant budget (LG001/LG002), other error.
// After an error the client issues ROLLBACK and goes on (pgbench would abort the client).
// Prints one JSON line: TPS, counts, lock-wait and transaction latency p50/p95/p99/max
// (nearest rank over all samples, in ms), and per-class figures where the scenario has classes.
//
//   lgbench --conninfo 'host=/tmp/s port=5432 dbname=bench user=postgres'
//           --contender lg_row --scenario hot --keys 10 --clients 32 --duration 10 --warmup 2
//
// Scenarios (table accounts(id int primary key, balance bigint, ...), ids 1..rows):
//   uncontended  lock + update one row drawn uniformly over --keys (default 1000000)
//   hot          lock + update one row drawn uniformly over --keys (1, 10, 1000 hot rows)
//   nominal      lock + update one row drawn zipfian (exponent --theta) over --keys, then read
//                one row drawn uniformly over --keys
//   transfer     lock two distinct rows drawn uniformly over --keys, in random order, update
//                both (-1, +1)
//   priority     hot rows (--keys 5); --high-share of transactions are class "high", the rest
//                "low"; the _prio contenders pass priority 100 for high, 0 for low
//   noisy        noisy neighbour over --keys rows (default 1000): the first --a-clients clients
//                (tenant A, connected as --user-a) lock + update a row drawn uniformly among the
//                --hot-keys shared rows (default 5), class "a"; the other clients (tenant B, as
//                --user-b) lock + update one of their own rows (--hot-keys+1 .. --keys), class
//                "b_own", or with probability --shared-share (default 0.1) a shared row, class
//                "b_shared"
// Outcomes also count "refused": lockguard's tenant budget refusals (LG001 too many held, LG002
// too many waiters). A refused attempt sleeps --refused-sleep-ms (jittered 0.5x..1.5x) and runs
// the same transaction again, without using up an attempt; its lock statement is not sampled as
// a lock wait (it never waited), the transaction latency includes the refusals and sleeps.
// --tag KEY=VALUE (repeatable) is copied into the output as "tags": {"KEY": "VALUE"}.
//
// Interleaved runs (the targets run): several variants of one point in one run, on the same
// connections, in short slices: --contender a,b,c (or one contender and --configs NAME=VALUE,...
// whose --config-sql, "{}" replaced by VALUE, a control connection runs with pg_reload_conf() as
// each slice starts), --rounds R, --order "0 1 2,1 2 0,..." (per round, the variants' order; by
// default 0..n-1). A slice is --settle s (not measured: the queue still holds the previous
// variant's transactions), --duration s measured, then --guard s not measured (the measured
// transactions end among their own variant's, not among the next one's). A transaction runs the
// variant of the slice it starts in and counts there if it starts in the measured part; one JSON
// line per variant and round, tagged round=K (from --first-round). Why: slices a few seconds
// apart see the same disk, whose flush time drifts by 10-20% within a minute here; separate runs
// of each contender turned that drift into noise of the same size between contenders.
// --tail VARIANT=SEC (repeatable): that variant's transactions may last up to SEC, so its slices'
// guard and settle, and the next slice's settle, are at least SEC (for_update's waits reach 1.5 s
// on one hot row while the FIFOs' stay under 0.35 s; a settle and guard long enough for it
// everywhere would spend most of a round unmeasured). Every line counts "overran_guard" (its
// measured transactions that ended after the slice) and "overran_settle" (earlier slices'
// transactions that ended inside its measured part): the slicing held where both are 0.
// --probe-sql (one JSON value) runs on the control connection as every slice's measured part
// starts and ends; a line carries those two values ("probe_before", "probe_after"), so what the
// probe counts (the worker's samples, say) is counted over the same seconds as the transactions,
// after the settle has let the slice's setting take effect.
// Contenders: for_update, advisory, advisory_for_update, for_update_retry, lg_row, lg_row_prio,
//   lg_named, lg_multi, lg_run, for_update_work, client_rwl (see usage()).
// advisory_for_update is the row scope's floor without lockguard: a FIFO gate (an advisory lock)
// and then the row's tuple lock, in one statement as lockguard_acquire_row is one.
// for_update_work is lockguard_run's floor without lockguard: the rows locked FOR UPDATE, then the
// same work function with the same argument, each in its own statement.
// client_rwl runs the scenario's transaction through the client library's public
// LockContext::run_with_lock (client/, docs/client.md): the rows as Resource::row locks taken with
// lockguard_acquire_all, the updates (and the read) in fn, the library's own retries with the
// same attempts, per-attempt timeout and backoff as for_update_retry. Its lock wait is sampled
// per attempt from the call's attempt log; the attempts of a call that gives up are counted by
// its last error only (the library reports no attempt log with the error).
#include "lockguard/client.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string conninfo;
    std::vector<std::string> contenders;  // --contender a,b,c
    std::string scenario;
    std::string label;       // printed as "scenario"; defaults to scenario (+keys for hot/transfer)
    std::string dist;        // uniform | zipf | hot:H:P ; default by scenario
    int clients = 8;
    double duration = 10;
    double warmup = 2;
    long keys = 0;           // 0: scenario default
    double theta = 0.99;     // zipf exponent
    double high_share = 0.1; // priority scenario
    int high_priority = 100;
    int retry_timeout_ms = 100;  // for_update_retry lock_timeout; lg_run timeout_ms per attempt
    int max_attempts = 5;        // for_update_retry client attempts; lg_run max_attempts
    int backoff_base_ms = 10;    // for_update_retry backoff (lg_run uses its defaults: 10, 1000)
    int backoff_max_ms = 1000;
    unsigned long seed = 42;
    int a_clients = -1;          // noisy: tenant A's clients (the rest are tenant B's)
    long hot_keys = 5;           // noisy: shared rows 1..hot_keys
    double shared_share = 0.1;   // noisy: share of B's transactions on the shared rows
    std::string user_a, user_b;  // noisy: roles the clients of A and B connect as (tenant mapping)
    int refused_sleep_ms = 10;   // sleep after a budget refusal (LG001/LG002) before the retry
    std::vector<std::pair<std::string, std::string>> tags;
    // Interleaved runs
    int rounds = 0;                // 0: one plain run (no round tag)
    int first_round = 1;
    double settle = 0;             // unmeasured start of every slice
    double guard = 0;              // unmeasured end of every slice
    std::map<std::string, double> tails;  // --tail VARIANT=SEC: its transactions' longest latency
    std::string order;             // "0 1 2,1 2 0": variants per round
    std::vector<std::pair<std::string, std::string>> configs;  // NAME=VALUE
    std::string config_sql;        // "{}" -> VALUE
    std::string probe_sql;
    std::string trace_path;  // --trace: every measured committed transaction, for investigations
    std::string control_conninfo;  // default: conninfo
};

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    size_t from = 0;
    while (from <= s.size()) {
        size_t to = s.find(sep, from);
        if (to == std::string::npos) to = s.size();
        if (to > from) out.push_back(s.substr(from, to - from));
        from = to + 1;
    }
    return out;
}

[[noreturn]] void usage(const char *msg) {
    if (msg) std::fprintf(stderr, "lgbench: %s\n", msg);
    std::fprintf(stderr,
        "usage: lgbench --conninfo STR --contender C --scenario S [--keys N] [--clients N]\n"
        "               [--duration SEC] [--warmup SEC] [--dist uniform|zipf|hot:H:P] [--theta X]\n"
        "               [--high-share X] [--retry-timeout-ms N] [--max-attempts N] [--seed N] [--label L]\n"
        "               [--a-clients N] [--hot-keys N] [--shared-share X] [--user-a ROLE] [--user-b ROLE]\n"
        "               [--refused-sleep-ms N] [--tag KEY=VALUE ...]\n"
        "       interleaved: --contender C1,C2,... | --configs NAME=VALUE,... --config-sql SQL\n"
        "               --rounds R [--order '0 1,1 0'] [--settle SEC] [--guard SEC] [--first-round K]\n"
        "               [--probe-sql SQL] [--control-conninfo STR] [--tail VARIANT=SEC ...]\n"
        "       --trace FILE: a CSV line per committed transaction of a measured part (client, slice,\n"
        "               variant, first row, start ms, lock ms, transaction ms), to look into a distribution\n"
        "contenders: for_update        SELECT ... FOR UPDATE (no timeout)\n"
        "            advisory          pg_advisory_xact_lock(id)\n"
        "            advisory_for_update  pg_advisory_xact_lock(id), then FOR UPDATE of the row (one statement)\n"
        "            for_update_retry  FOR UPDATE with lock_timeout and client retries with backoff\n"
        "            lg_row            lockguard_acquire_row('accounts', id)\n"
        "            lg_row_prio       lockguard_acquire_row(..., priority => 100 for class high)\n"
        "            lg_named          lockguard_acquire('acct:' || id)\n"
        "            lg_multi          lockguard_acquire_all(ARRAY[row_lock(...), ...])\n"
        "            lg_run            lockguard_run(ARRAY[row_lock(...)], bench_work(jsonb), ...)\n"
        "            for_update_work   FOR UPDATE of the rows, then SELECT bench_work(jsonb) (lg_run's floor)\n"
        "            client_rwl        the client library's LockContext::run_with_lock (retries as for_update_retry)\n"
        "scenarios:  uncontended hot nominal transfer priority noisy\n");
    std::exit(2);
}

// ---------------------------------------------------------------------------------------------
// Key distributions
// ---------------------------------------------------------------------------------------------
struct Distribution {
    enum Kind { Uniform, Zipf, HotSet } kind = Uniform;
    long n = 1;
    std::vector<double> cdf;  // zipf: cumulative probability of ranks 1..n
    long hot = 0;             // hot set: keys 1..hot drawn with probability hot_p
    double hot_p = 0;

    long draw(std::mt19937_64 &rng) const {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        switch (kind) {
            case Zipf: {
                double x = u(rng);
                long i = std::lower_bound(cdf.begin(), cdf.end(), x) - cdf.begin();
                return std::min(i, n - 1) + 1;
            }
            case HotSet:
                if (u(rng) < hot_p) return std::uniform_int_distribution<long>(1, hot)(rng);
                [[fallthrough]];
            case Uniform:
            default:
                return std::uniform_int_distribution<long>(1, n)(rng);
        }
    }
};

Distribution make_distribution(const std::string &spec, long n, double theta) {
    Distribution d;
    d.n = n;
    if (spec == "uniform") {
        d.kind = Distribution::Uniform;
    } else if (spec == "zipf") {
        d.kind = Distribution::Zipf;
        d.cdf.resize(n);
        double sum = 0;
        for (long i = 0; i < n; i++) sum += 1.0 / std::pow(double(i + 1), theta);
        double acc = 0;
        for (long i = 0; i < n; i++) {
            acc += 1.0 / std::pow(double(i + 1), theta) / sum;
            d.cdf[i] = acc;
        }
        d.cdf[n - 1] = 1.0;
    } else if (spec.rfind("hot:", 0) == 0) {
        d.kind = Distribution::HotSet;
        if (std::sscanf(spec.c_str(), "hot:%ld:%lf", &d.hot, &d.hot_p) != 2 || d.hot < 1 || d.hot > n)
            usage("--dist hot:H:P needs 1 <= H <= keys and 0 <= P <= 1");
    } else {
        usage("unknown --dist");
    }
    return d;
}

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------
struct Statement {
    std::string sql;                  // with $1..$n; prepared once per connection
    std::vector<std::string> params;  // text values drawn for this transaction
    bool is_lock = false;             // timed as lock wait
    bool returns_attempts = false;    // lockguard_run: column 0 of the result is attempts
};

struct Transaction {
    std::vector<Statement> statements;  // between BEGIN and COMMIT
    int cls = 0;                        // index into class names
    std::vector<long> lock_rows;        // client_rwl: the rows run_with_lock locks
    long first_row = 0;                 // the first row drawn (--trace)
};

// One committed transaction of a measured part (--trace).
struct TraceLine {
    long slice;
    long row;
    double start_ms;  // from the first slice's start
    double lock_ms, txn_ms;
};

enum Outcome { Committed = 0, LockTimeout, Deadlock, OtherError, Refused, kOutcomes };

struct Samples {
    std::vector<double> lock_ms, txn_ms;
    long outcomes[kOutcomes] = {0, 0, 0, 0, 0};
    long gave_up = 0;         // logical transactions abandoned after the last attempt
    long client_retries = 0;  // attempts after the first (for_update_retry)
    long server_attempts = 0; // sum of lockguard_run attempts over committed transactions
    // Whether the slicing held (interleaved runs): measured transactions that ended after their
    // slice (its guard too short), and transactions of earlier slices that ended inside this
    // slice's measured part (its settle too short).
    long overran_guard = 0, overran_settle = 0;
    void merge(const Samples &o) {
        lock_ms.insert(lock_ms.end(), o.lock_ms.begin(), o.lock_ms.end());
        txn_ms.insert(txn_ms.end(), o.txn_ms.begin(), o.txn_ms.end());
        for (int i = 0; i < kOutcomes; i++) outcomes[i] += o.outcomes[i];
        gave_up += o.gave_up;
        client_retries += o.client_retries;
        server_attempts += o.server_attempts;
        overran_guard += o.overran_guard;
        overran_settle += o.overran_settle;
    }
};

class Workload {
public:
    explicit Workload(const Options &o) : opt_(o) {
        const std::string &s = o.scenario;
        long default_keys = s == "uncontended" ? 1000000 : s == "hot" ? 1 : s == "nominal" ? 10000
                          : s == "transfer" ? 10 : s == "priority" ? 5 : s == "noisy" ? 1000 : -1;
        if (default_keys < 0) usage("unknown --scenario");
        keys_ = o.keys > 0 ? o.keys : default_keys;
        if (s == "transfer" && keys_ < 2) usage("transfer needs --keys >= 2");
        if (s == "noisy") {
            if (o.hot_keys < 1 || o.hot_keys >= keys_) usage("noisy needs 1 <= --hot-keys < --keys");
            if (o.a_clients < 0 || o.a_clients >= o.clients) usage("noisy needs 0 <= --a-clients < --clients");
            shared_ = make_distribution("uniform", o.hot_keys, o.theta);
            own_ = make_distribution("uniform", keys_ - o.hot_keys, o.theta);
        }
        dist_name_ = !o.dist.empty() ? o.dist : s == "nominal" ? "zipf" : "uniform";
        dist_ = make_distribution(dist_name_, keys_, o.theta);
        read_dist_ = make_distribution("uniform", keys_, o.theta);
        classes_ = s == "priority" ? std::vector<std::string>{"high", "low"}
                 : s == "noisy"    ? std::vector<std::string>{"a", "b_own", "b_shared"}
                                   : std::vector<std::string>{"all"};
        static const char *known[] = {"for_update", "advisory", "advisory_for_update", "for_update_retry", "lg_row",
                                      "lg_row_prio", "lg_named", "lg_multi", "lg_run", "for_update_work",
                                      "client_rwl"};
        for (const std::string &c : o.contenders)
            if (std::find_if(std::begin(known), std::end(known), [&](const char *k) { return c == k; }) == std::end(known))
                usage("unknown --contender");
        // Retries and the client library keep their own state across a transaction's attempts
        // or connections: one of them runs alone.
        if (o.contenders.size() > 1)
            for (const std::string &c : o.contenders)
                if (c == "for_update_retry" || c == "client_rwl") usage("for_update_retry and client_rwl run alone");
    }

    long keys() const { return keys_; }
    const std::string &dist_name() const { return dist_name_; }
    const std::vector<std::string> &classes() const { return classes_; }
    bool client_retries() const { return opt_.contenders[0] == "for_update_retry"; }  // alone (above)
    bool client_library() const { return opt_.contenders[0] == "client_rwl"; }
    bool noisy() const { return opt_.scenario == "noisy"; }
    bool tenant_a(int client) const { return noisy() && client < opt_.a_clients; }

    // The connection string of one client: noisy scenario clients connect as their tenant's role.
    std::string conninfo(int client) const {
        const std::string &user = !noisy() ? std::string() : tenant_a(client) ? opt_.user_a : opt_.user_b;
        return user.empty() ? opt_.conninfo : opt_.conninfo + " user=" + user;  // libpq: the last value wins
    }

    // Statements run once per connection after connecting.
    std::vector<std::string> session_setup() const {
        std::vector<std::string> v;
        if (client_retries()) v.push_back("SET lock_timeout = '" + std::to_string(opt_.retry_timeout_ms) + "ms'");
        return v;
    }

    Transaction draw(std::mt19937_64 &rng, int client, const std::string &c) const {
        Transaction t;
        const std::string &s = opt_.scenario;
        std::vector<long> rows;  // in lock order
        std::vector<int> deltas;
        if (s == "noisy") {
            if (tenant_a(client)) t.cls = 0;
            else t.cls = std::uniform_real_distribution<double>(0, 1)(rng) < opt_.shared_share ? 2 : 1;
            rows.push_back(t.cls == 1 ? opt_.hot_keys + own_.draw(rng) : shared_.draw(rng));
        } else {
            rows.push_back(dist_.draw(rng));
        }
        deltas.push_back(1);
        t.first_row = rows[0];
        if (s == "transfer") {
            long b;
            do b = dist_.draw(rng); while (b == rows[0]);
            rows.push_back(b);  // both drawn independently: the order is random
            deltas = {-1, 1};
        }
        long read_key = s == "nominal" ? read_dist_.draw(rng) : 0;
        if (s == "priority") t.cls = std::uniform_real_distribution<double>(0, 1)(rng) < opt_.high_share ? 0 : 1;
        int priority = (c == "lg_row_prio" && s == "priority" && t.cls == 0) ? opt_.high_priority : 0;

        // The work function's argument (lg_run, for_update_work): the rows, their deltas, the read.
        auto work_argument = [&]() {
            std::string arg = "{\"k\": [";
            for (size_t i = 0; i < rows.size(); i++) arg += (i ? ", " : "") + std::to_string(rows[i]);
            arg += "], \"d\": [";
            for (size_t i = 0; i < deltas.size(); i++) arg += (i ? ", " : "") + std::to_string(deltas[i]);
            arg += "]";
            if (read_key) arg += ", \"r\": " + std::to_string(read_key);
            return arg + "}";
        };
        auto lock = [&](std::string sql, std::vector<std::string> p) {
            Statement st;
            st.sql = std::move(sql);
            st.params = std::move(p);
            st.is_lock = true;
            return st;
        };
        if (c == "for_update" || c == "for_update_retry" || c == "for_update_work") {
            for (long r : rows) t.statements.push_back(lock("SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", {std::to_string(r)}));
            if (c == "for_update_work") {
                Statement st;
                st.sql = "SELECT bench_work($1::jsonb)";
                st.params = {work_argument()};
                t.statements.push_back(st);
                return t;  // the work function does the updates (and the read)
            }
        } else if (c == "advisory") {
            for (long r : rows) t.statements.push_back(lock("SELECT pg_advisory_xact_lock($1::bigint)", {std::to_string(r)}));
        } else if (c == "advisory_for_update") {
            // The volatile call stays a per-row filter of the index scan, below LockRows: the gate
            // is taken before the tuple lock, as lockguard's row scope takes its gate first.
            for (long r : rows)
                t.statements.push_back(lock("SELECT balance FROM accounts WHERE id = $1 "
                                            "AND pg_advisory_xact_lock($1::bigint) IS NOT NULL FOR UPDATE",
                                            {std::to_string(r)}));
        } else if (c == "lg_row") {
            for (long r : rows)
                t.statements.push_back(lock("SELECT lockguard_acquire_row('accounts'::regclass, $1::int)", {std::to_string(r)}));
        } else if (c == "lg_row_prio") {
            for (long r : rows)
                t.statements.push_back(lock("SELECT lockguard_acquire_row('accounts'::regclass, $1::int, priority => $2::int)",
                                            {std::to_string(r), std::to_string(priority)}));
        } else if (c == "lg_named") {
            for (long r : rows) t.statements.push_back(lock("SELECT lockguard_acquire('acct:' || $1)", {std::to_string(r)}));
        } else if (c == "client_rwl") {
            t.lock_rows = rows;  // locked by run_with_lock; the statements below run in its fn
        } else if (c == "lg_multi" || c == "lg_run") {
            std::string arr = "ARRAY[";
            std::vector<std::string> p;
            for (size_t i = 0; i < rows.size(); i++) {
                arr += (i ? ", " : "") + std::string("lockguard.row_lock('accounts'::regclass, $") + std::to_string(i + 1) + "::int)";
                p.push_back(std::to_string(rows[i]));
            }
            arr += "]";
            if (c == "lg_multi") {
                t.statements.push_back(lock("SELECT lockguard_acquire_all(" + arr + ")", p));
            } else {
                // The work function does the updates (and the read) inside lockguard's attempt.
                p.push_back(work_argument());
                std::string n = std::to_string(rows.size() + 1);
                Statement st = lock("SELECT attempts FROM lockguard_run(" + arr + ", 'bench_work(jsonb)'::regprocedure, $" + n +
                                        "::jsonb, max_attempts => " + std::to_string(opt_.max_attempts) +
                                        ", timeout_ms => " + std::to_string(opt_.retry_timeout_ms) + ")",
                                    p);
                st.returns_attempts = true;
                t.statements.push_back(st);
                return t;  // no separate updates
            }
        }
        for (size_t i = 0; i < rows.size(); i++) {
            Statement st;
            st.sql = "UPDATE accounts SET balance = balance + $2::int WHERE id = $1";
            st.params = {std::to_string(rows[i]), std::to_string(deltas[i])};
            t.statements.push_back(st);
        }
        if (read_key) {
            Statement st;
            st.sql = "SELECT balance FROM accounts WHERE id = $1";
            st.params = {std::to_string(read_key)};
            t.statements.push_back(st);
        }
        return t;
    }

private:
    const Options &opt_;
    long keys_ = 0;
    std::string dist_name_;
    Distribution dist_, read_dist_, shared_, own_;
    std::vector<std::string> classes_;
};

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------
// What the slices of one variant run: a contender, and for --configs the setting's value.
struct Variant {
    std::string name;  // the contender, or the config's name
    std::string contender;
    std::string config_value;
};

struct Shared {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::atomic<bool> failed{false};
    // Set before the clients start: a plain run is one slice of one variant without settle.
    std::vector<Variant> variants;
    std::vector<int> schedule;         // the variant of every slice, in time order
    Clock::time_point t0, t_end;       // the first slice's start (the warm-up's end), the last's end
    // Slice k starts offsets[k] after t0 (offsets[n]: the run's end); its settle and guard are
    // settles[k] and guards[k], so slices differ in length where a variant has a --tail.
    std::vector<Clock::duration> offsets, settles, guards;
    Clock::duration measured_len{};
    std::mutex mu;
    std::map<std::string, long> other_errors;  // "SQLSTATE message" -> count (first 200 chars)

    long slices() const { return long(schedule.size()); }
    Clock::time_point slice_start(long k) const { return t0 + offsets[k]; }
    Clock::time_point measured_start(long k) const { return slice_start(k) + settles[k]; }
    // The slice a transaction starting at t belongs to; -1 in the warm-up (it runs slice 0's variant).
    long slice_at(Clock::time_point t) const {
        if (t < t0) return -1;
        long k = long(std::upper_bound(offsets.begin(), offsets.end(), t - t0) - offsets.begin()) - 1;
        return std::min(k, slices() - 1);
    }
    bool measured(Clock::time_point t, long k) const {
        return k >= 0 && t >= measured_start(k) && t < measured_start(k) + measured_len;
    }
    const Variant &variant_at(long k) const { return variants[schedule[k < 0 ? 0 : k]]; }
};

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

class Client {
public:
    Client(const Options &o, const Workload &w, Shared &sh, int id)
        : opt_(o), w_(w), sh_(sh), id_(id), rng_(o.seed * 1000003ULL + id),
          per_slice_(sh.schedule.size(), std::vector<Samples>(w.classes().size())) {}

    void run() {
        if (w_.client_library()) return run_library();
        conn_ = PQconnectdb(w_.conninfo(id_).c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            std::fprintf(stderr, "lgbench: connection failed: %s", PQerrorMessage(conn_));
            sh_.failed = true;
            sh_.ready++;
            return;
        }
        for (const std::string &sql : w_.session_setup()) simple(sql.c_str());
        sh_.ready++;
        while (!sh_.go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (sh_.failed) return finish();
        while (Clock::now() < sh_.t_end) one_transaction();
        finish();
    }

    // [slice][class]
    const std::vector<std::vector<Samples>> &samples() const { return per_slice_; }
    const std::vector<TraceLine> &trace() const { return trace_; }

private:
    const Options &opt_;
    const Workload &w_;
    Shared &sh_;
    int id_;
    std::mt19937_64 rng_;
    std::vector<std::vector<Samples>> per_slice_;
    std::vector<TraceLine> trace_;  // only with --trace
    PGconn *conn_ = nullptr;
    std::map<std::string, std::string> prepared_;  // sql -> statement name

    // client_rwl: the loop of run() through the client library, which connects on first use.
    void run_library() {
        lockguard::client::LockContext ctx(w_.conninfo(id_));
        sh_.ready++;
        while (!sh_.go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (sh_.failed) return;
        while (Clock::now() < sh_.t_end) library_transaction(ctx);
    }

    static Outcome library_outcome(const std::string &state) {
        if (state == "55P03") return LockTimeout;
        if (state == "40P01") return Deadlock;
        if (state == "LG001" || state == "LG002") return Refused;
        return OtherError;
    }

    // One logical transaction through run_with_lock: its attempts, timeout and backoff are the
    // client-retry contender's; the deadline is the end of the measured window plus 2 s, so that
    // no call outlives the run by much. It runs alone (one variant).
    void library_transaction(lockguard::client::LockContext &ctx) {
        namespace lgc = lockguard::client;
        const Clock::time_point start = Clock::now();
        const long k = sh_.slice_at(start);
        Transaction t = w_.draw(rng_, id_, sh_.variant_at(k).contender);
        Samples *cs = sh_.measured(start, k) ? &per_slice_[k][t.cls] : nullptr;
        std::vector<lgc::Resource> resources;
        resources.reserve(t.lock_rows.size());
        for (long r : t.lock_rows) resources.push_back(lgc::Resource::row("accounts", static_cast<int64_t>(r)));
        lgc::Options o;
        o.max_attempts = opt_.max_attempts;
        o.acquire_timeout_ms = opt_.retry_timeout_ms;
        o.backoff = {opt_.backoff_base_ms, opt_.backoff_max_ms, 2.0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(sh_.t_end - Clock::now()).count();
        o.deadline_ms = std::max<int64_t>(left, 1) + 2000;
        try {
            lgc::RunResult r = ctx.run_with_lock(
                resources,
                [&](lgc::Transaction &tx) {
                    for (const Statement &st : t.statements) {
                        std::vector<std::optional<std::string>> p(st.params.begin(), st.params.end());
                        tx.exec(st.sql, p);
                    }
                    return std::string();
                },
                o);
            note_overrun(k, t.cls, cs != nullptr, Clock::now());
            if (!cs) return;
            for (const lgc::AttemptRecord &a : r.stats.attempt_log) {
                Outcome out = a.error_class.empty() ? Committed : library_outcome(a.sqlstate);
                if (out != Refused) cs->lock_ms.push_back(static_cast<double>(a.lock_wait_ms));
                if (out != Committed) cs->outcomes[out]++;
            }
            const Clock::time_point end = Clock::now();
            cs->outcomes[Committed]++;
            cs->txn_ms.push_back(ms_between(start, end));
            cs->client_retries += r.stats.attempts - 1;
            trace_committed(k, t.first_row, start, end,
                            r.stats.attempt_log.empty() ? 0.0 : double(r.stats.attempt_log.back().lock_wait_ms));
        } catch (const lgc::Error &e) {
            note_overrun(k, t.cls, cs != nullptr, Clock::now());
            if (cs) {
                Outcome out = library_outcome(e.sqlstate());
                cs->outcomes[out]++;
                cs->client_retries += std::max(e.attempts() - 1, 0);
                if (out == LockTimeout || out == Deadlock) cs->gave_up++;
                else note_other(e.sqlstate().empty() ? "08006" : e.sqlstate(), e.what());
            }
            if (e.kind() == lgc::ErrorKind::Connection || e.kind() == lgc::ErrorKind::Deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    // A transaction of slice k (or of the warm-up, k = -1, which runs slice 0's variant) ended:
    // whether it outlasted its slice's guard (if measured) or reached into a later slice's measured
    // part. Only where the variant changes: a transaction among its own variant's is no harm.
    void note_overrun(long k, int cls, bool measured, Clock::time_point end) {
        const int own = sh_.schedule[k < 0 ? 0 : k];
        const long n = sh_.slices();
        if (measured && end > sh_.slice_start(k + 1) && (k + 1 == n || sh_.schedule[k + 1] != own))
            per_slice_[k][cls].overran_guard++;
        for (long j = k + 1; j < n && end > sh_.measured_start(j); j++)
            if (sh_.schedule[j] != own) per_slice_[j][cls].overran_settle++;
    }

    // A measured committed transaction (--trace).
    void trace_committed(long k, long row, Clock::time_point start, Clock::time_point end, double lock_ms) {
        if (opt_.trace_path.empty()) return;
        trace_.push_back({k, row, ms_between(sh_.t0, start), lock_ms, ms_between(start, end)});
    }

    void finish() {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
    }

    bool simple(const char *sql) {
        PGresult *r = PQexec(conn_, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        return ok;
    }

    // Returns the SQLSTATE of a failure ("" on success); *attempts gets column 0 if asked.
    std::string execute(const Statement &st, long *attempts, std::string *message) {
        auto it = prepared_.find(st.sql);
        if (it == prepared_.end()) {
            std::string name = "s" + std::to_string(prepared_.size());
            PGresult *r = PQprepare(conn_, name.c_str(), st.sql.c_str(), 0, nullptr);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                std::string state = sqlstate(r, message);
                PQclear(r);
                return state;
            }
            PQclear(r);
            it = prepared_.emplace(st.sql, name).first;
        }
        std::vector<const char *> values;
        for (const std::string &p : st.params) values.push_back(p.c_str());
        PGresult *r = PQexecPrepared(conn_, it->second.c_str(), int(values.size()), values.data(), nullptr, nullptr, 0);
        ExecStatusType s = PQresultStatus(r);
        std::string state;
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) state = sqlstate(r, message);
        else if (st.returns_attempts && attempts && PQntuples(r) > 0) *attempts = std::atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return state;
    }

    std::string sqlstate(PGresult *r, std::string *message) {
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (message) *message = PQresultErrorMessage(r);
        if (code) return code;
        return PQstatus(conn_) == CONNECTION_OK ? "XX000" : "08006";
    }

    Outcome classify(const std::string &state) {
        if (state == "55P03") return LockTimeout;
        if (state == "40P01") return Deadlock;
        if (state == "LG001" || state == "LG002") return Refused;  // tenant budget: fail fast
        return OtherError;
    }

    void note_other(const std::string &state, const std::string &message) {
        std::lock_guard<std::mutex> g(sh_.mu);
        std::string key = state + " " + message.substr(0, 200);
        while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
        if (sh_.other_errors.size() < 20 || sh_.other_errors.count(key)) sh_.other_errors[key]++;
    }

    // One logical transaction: up to max_attempts attempts for the client-retry contender, one
    // for the others. Lock wait is sampled per attempt, latency per committed transaction; all
    // of it counts in the slice the transaction started in, if that was after the slice's settle.
    void one_transaction() {
        const Clock::time_point start = Clock::now();
        const long k = sh_.slice_at(start);
        Transaction t = w_.draw(rng_, id_, sh_.variant_at(k).contender);
        Samples *cs = sh_.measured(start, k) ? &per_slice_[k][t.cls] : nullptr;
        int max_attempts = w_.client_retries() ? opt_.max_attempts : 1;
        bool after_refusal = false;
        for (int attempt = 1; attempt <= max_attempts; attempt++) {
            if (after_refusal) {
                // A budget refusal: sleep a little and run the same transaction again; it does not
                // use up an attempt.
                after_refusal = false;
                long half = opt_.refused_sleep_ms / 2;
                long sleep_ms = half + std::uniform_int_distribution<long>(0, opt_.refused_sleep_ms)(rng_);
                std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
            } else if (attempt > 1) {
                long cap = std::min<long>(opt_.backoff_max_ms, long(opt_.backoff_base_ms) << std::min(attempt - 2, 20));
                long half = cap / 2;
                long sleep_ms = half + std::uniform_int_distribution<long>(0, cap - half)(rng_);
                std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
                if (cs) cs->client_retries++;
            }
            std::string state, message;
            double lock_ms = 0;
            bool locked_any = false;
            long attempts = 0;
            if (!simple("BEGIN")) {
                state = PQstatus(conn_) == CONNECTION_OK ? "XX000" : "08006";
                message = PQerrorMessage(conn_);
            }
            for (const Statement &st : t.statements) {
                if (!state.empty()) break;
                Clock::time_point a = Clock::now();
                state = execute(st, &attempts, &message);
                if (st.is_lock) {
                    lock_ms += ms_between(a, Clock::now());
                    locked_any = true;
                }
            }
            if (state.empty()) {
                PGresult *r = PQexec(conn_, "COMMIT");
                if (PQresultStatus(r) != PGRES_COMMAND_OK) state = sqlstate(r, &message);
                PQclear(r);
            }
            Clock::time_point end = Clock::now();
            if (state.empty()) note_overrun(k, t.cls, cs != nullptr, end);
            bool refused = !state.empty() && classify(state) == Refused;
            if (cs && locked_any && !refused) cs->lock_ms.push_back(lock_ms);
            if (state.empty()) {
                if (cs) {
                    cs->outcomes[Committed]++;
                    cs->txn_ms.push_back(ms_between(start, end));
                    cs->server_attempts += attempts;
                    trace_committed(k, t.first_row, start, end, lock_ms);
                }
                return;
            }
            simple("ROLLBACK");
            Outcome o = classify(state);
            if (cs) {
                cs->outcomes[o]++;
                if (o == OtherError) note_other(state, message);
            }
            if (PQstatus(conn_) != CONNECTION_OK) {
                PQreset(conn_);
                prepared_.clear();
                for (const std::string &sql : w_.session_setup()) simple(sql.c_str());
                if (PQstatus(conn_) != CONNECTION_OK) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (o == OtherError || Clock::now() >= sh_.t_end) break;
            if (o == Refused) {
                after_refusal = true;
                attempt--;
                continue;
            }
            if (attempt == max_attempts && w_.client_retries() && cs) cs->gave_up++;
        }
        note_overrun(k, t.cls, cs != nullptr, Clock::now());
    }
};

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------
void write_trace(const std::string &path, const std::vector<Client> &clients, const Shared &sh) {
    FILE *f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        std::fprintf(stderr, "lgbench: cannot write %s\n", path.c_str());
        return;
    }
    std::fprintf(f, "client,slice,variant,row,start_ms,lock_ms,txn_ms\n");
    for (size_t c = 0; c < clients.size(); c++)
        for (const TraceLine &l : clients[c].trace())
            std::fprintf(f, "%zu,%ld,%s,%ld,%.3f,%.3f,%.3f\n", c, l.slice, sh.variant_at(l.slice).name.c_str(), l.row,
                         l.start_ms, l.lock_ms, l.txn_ms);
    std::fclose(f);
}

std::string json_escape(const std::string &s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') { out += '\\'; out += ch; }
        else if (ch == '\n') out += "\\n";
        else if (static_cast<unsigned char>(ch) < 0x20) out += ' ';
        else out += ch;
    }
    return out;
}

double nearest_rank(const std::vector<double> &sorted, double q) {
    if (sorted.empty()) return 0;
    long i = long(std::ceil(q * double(sorted.size()))) - 1;
    i = std::max(0L, std::min(i, long(sorted.size()) - 1));
    return sorted[i];
}

std::string latency_json(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    char buf[256];
    if (v.empty())
        std::snprintf(buf, sizeof buf, "{\"n\": 0, \"mean\": null, \"p50\": null, \"p95\": null, \"p99\": null, \"max\": null}");
    else
        std::snprintf(buf, sizeof buf, "{\"n\": %zu, \"mean\": %.3f, \"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"max\": %.3f}",
                      v.size(), sum / double(v.size()), nearest_rank(v, 0.50), nearest_rank(v, 0.95),
                      nearest_rank(v, 0.99), v.back());
    return buf;
}

std::string counts_json(const Samples &s, double duration) {
    char buf[512];
    long c = s.outcomes[Committed];
    std::snprintf(buf, sizeof buf,
                  "\"tps\": %.1f, \"committed\": %ld, \"lock_timeouts\": %ld, \"deadlocks\": %ld, \"other_errors\": %ld, "
                  "\"deadlocks_per_txn\": %.5f, \"timeouts_per_txn\": %.5f, \"gave_up\": %ld, \"client_retries\": %ld, "
                  "\"server_attempts\": %ld, \"refused\": %ld, \"overran_guard\": %ld, \"overran_settle\": %ld",
                  double(c) / duration, c, s.outcomes[LockTimeout], s.outcomes[Deadlock], s.outcomes[OtherError],
                  c ? double(s.outcomes[Deadlock]) / double(c) : 0.0, c ? double(s.outcomes[LockTimeout]) / double(c) : 0.0,
                  s.gave_up, s.client_retries, s.server_attempts, s.outcomes[Refused], s.overran_guard, s.overran_settle);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// The control connection of an interleaved run
// ---------------------------------------------------------------------------------------------
// Switches --configs as every slice starts and reads --probe-sql as its measured part starts
// (probes_before[k]) and ends (probes_after[k]).
class Control {
public:
    Control(const Options &o, Shared &sh) : opt_(o), sh_(sh) {
        probes_before.resize(sh.schedule.size());
        probes_after.resize(sh.schedule.size());
    }
    ~Control() {
        if (conn_) PQfinish(conn_);
    }
    bool needed() const { return !opt_.configs.empty() || !opt_.probe_sql.empty(); }

    bool connect() {
        conn_ = PQconnectdb((opt_.control_conninfo.empty() ? opt_.conninfo : opt_.control_conninfo).c_str());
        if (PQstatus(conn_) == CONNECTION_OK) return true;
        std::fprintf(stderr, "lgbench: control connection failed: %s", PQerrorMessage(conn_));
        return false;
    }

    // The config of slice k; false (and a message) when the server refused it.
    bool apply(long k) {
        const Variant &v = sh_.variant_at(k);
        if (opt_.configs.empty()) return true;
        std::string sql = opt_.config_sql;
        for (size_t at; (at = sql.find("{}")) != std::string::npos;) sql.replace(at, 2, v.config_value);
        return exec(sql) && exec("SELECT pg_reload_conf()");
    }

    // After go: every slice's start (slice 0's config was applied before go) and its measured
    // part's bounds, in time order.
    void run() {
        for (long k = 0; k < long(sh_.schedule.size()); k++) {
            std::this_thread::sleep_until(sh_.slice_start(k));
            if (k > 0 && !apply(k)) sh_.failed = true;
            if (opt_.probe_sql.empty()) continue;
            std::this_thread::sleep_until(sh_.measured_start(k));
            probes_before[k] = probe();
            std::this_thread::sleep_until(sh_.measured_start(k) + sh_.measured_len);
            probes_after[k] = probe();
        }
    }

    std::vector<std::string> probes_before, probes_after;  // JSON text, "" when unread

private:
    const Options &opt_;
    Shared &sh_;
    PGconn *conn_ = nullptr;

    bool exec(const std::string &sql) {
        PGresult *r = PQexec(conn_, sql.c_str());
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) std::fprintf(stderr, "lgbench: control statement failed: %s: %s", sql.c_str(), PQresultErrorMessage(r));
        PQclear(r);
        return ok;
    }

    std::string probe() {
        PGresult *r = PQexec(conn_, opt_.probe_sql.c_str());
        std::string v;
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) v = PQgetvalue(r, 0, 0);
        PQclear(r);
        return v;
    }
};

// The variants and the slice schedule of a run (a plain run: one variant, one slice).
void plan_slices(const Options &o, Shared &sh) {
    if (!o.configs.empty()) {
        if (o.contenders.size() != 1 || o.config_sql.empty()) usage("--configs needs one --contender and --config-sql");
        for (const auto &c : o.configs) sh.variants.push_back({c.first, o.contenders[0], c.second});
    } else {
        for (const std::string &c : o.contenders) sh.variants.push_back({c, c, ""});
    }
    const int n = int(sh.variants.size());
    if (n > 1 && o.rounds < 1) usage("several variants need --rounds");
    const int rounds = std::max(o.rounds, 1);
    std::vector<std::string> groups = split(o.order, ',');
    if (!o.order.empty() && int(groups.size()) != rounds) usage("--order needs one group per round");
    for (int r = 0; r < rounds; r++) {
        std::vector<int> perm;
        if (o.order.empty()) {
            for (int i = 0; i < n; i++) perm.push_back(i);
        } else {
            for (const std::string &x : split(groups[r], ' ')) perm.push_back(std::atoi(x.c_str()));
        }
        std::vector<int> sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        for (int i = 0; i < n; i++)
            if (int(sorted.size()) != n || sorted[i] != i) usage("every --order group must hold each variant once");
        sh.schedule.insert(sh.schedule.end(), perm.begin(), perm.end());
    }
    // A variant's --tail lengthens its slices' guard, so that its slow transactions do not end
    // among the next variant's; its slices' settle, since the previous variant's last transactions
    // queue behind the slow variant's first ones; and the next slice's settle, since the slow
    // variant's last transactions are still running as that slice starts.
    for (const auto &t : o.tails) {
        bool known = false;
        for (const Variant &v : sh.variants) known = known || v.name == t.first;
        if (!known || t.second < 0) usage("--tail names a variant of the run and a number of seconds >= 0");
    }
    auto tail = [&o](const Variant &v) {
        auto it = o.tails.find(v.name);
        return it == o.tails.end() ? 0.0 : it->second;
    };
    auto seconds = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
    sh.measured_len = seconds(o.duration);
    Clock::duration at{};
    for (long k = 0; k < sh.slices(); k++) {
        double settle = k > 0 ? std::max({o.settle, tail(sh.variant_at(k - 1)), tail(sh.variant_at(k))}) : o.settle;
        double guard = std::max(o.guard, tail(sh.variant_at(k)));
        sh.offsets.push_back(at);
        sh.settles.push_back(seconds(settle));
        sh.guards.push_back(seconds(guard));
        at += seconds(settle) + sh.measured_len + seconds(guard);
    }
    sh.offsets.push_back(at);
}

// One JSON line: one variant in one slice (or a plain run's only slice).
std::string result_line(const Options &o, const Workload &w, const Shared &sh, long k,
                        const std::vector<Samples> &per_class, const Control &control) {
    const Variant &v = sh.variants[sh.schedule[k]];
    const auto &classes = w.classes();
    Samples all;
    for (const Samples &s : per_class) all.merge(s);
    std::string line = "{\"contender\": \"" + json_escape(v.contender) + "\", \"scenario\": \"" + json_escape(o.label) +
                       "\", \"kind\": \"" + json_escape(o.scenario) + "\", \"clients\": " + std::to_string(o.clients) +
                       ", \"keys\": " + std::to_string(w.keys()) + ", \"dist\": \"" + json_escape(w.dist_name()) + "\"";
    char buf[256];
    std::snprintf(buf, sizeof buf, ", \"theta\": %.3f, \"duration_s\": %.1f, \"warmup_s\": %.1f, ", o.theta, o.duration, o.warmup);
    line += buf;
    if (o.rounds > 0) {
        auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
        std::snprintf(buf, sizeof buf, "\"settle_s\": %.2f, \"guard_s\": %.2f, \"slice\": %ld, ", secs(sh.settles[k]),
                      secs(sh.guards[k]), k);
        line += buf;
    }
    line += counts_json(all, o.duration);
    line += ", \"lock_wait_ms\": " + latency_json(all.lock_ms) + ", \"txn_ms\": " + latency_json(all.txn_ms);
    if (w.noisy()) {
        std::snprintf(buf, sizeof buf, ", \"a_clients\": %d, \"b_clients\": %d, \"hot_keys\": %ld, \"shared_share\": %.3f, "
                      "\"refused_sleep_ms\": %d", o.a_clients, o.clients - o.a_clients, o.hot_keys, o.shared_share,
                      o.refused_sleep_ms);
        line += buf;
        line += ", \"user_a\": \"" + json_escape(o.user_a) + "\", \"user_b\": \"" + json_escape(o.user_b) + "\"";
    }
    auto tags = o.tags;
    if (o.rounds > 0) tags.emplace_back("round", std::to_string(o.first_round + k / long(sh.variants.size())));
    if (!o.configs.empty()) tags.emplace_back("config", v.name);
    if (!tags.empty()) {
        line += ", \"tags\": {";
        for (size_t i = 0; i < tags.size(); i++)
            line += (i ? ", \"" : "\"") + json_escape(tags[i].first) + "\": \"" + json_escape(tags[i].second) + "\"";
        line += "}";
    }
    if (classes.size() > 1) {
        line += ", \"classes\": {";
        for (size_t c = 0; c < classes.size(); c++) {
            line += (c ? ", \"" : "\"") + classes[c] + "\": {" + counts_json(per_class[c], o.duration) +
                    ", \"lock_wait_ms\": " + latency_json(per_class[c].lock_ms) + ", \"txn_ms\": " + latency_json(per_class[c].txn_ms) + "}";
        }
        line += "}";
    }
    if (!o.probe_sql.empty()) {
        auto json_or_null = [](const std::string &x) { return x.empty() ? std::string("null") : x; };
        line += ", \"probe_before\": " + json_or_null(control.probes_before[k]) + ", \"probe_after\": " + json_or_null(control.probes_after[k]);
    }
    line += ", \"errors_sample\": [";
    bool first = true;
    for (const auto &e : sh.other_errors) {
        line += (first ? "\"" : ", \"") + json_escape(std::to_string(e.second) + "x " + e.first) + "\"";
        first = false;
    }
    line += "]}";
    return line;
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        auto key_value = [&](const std::string &kv, const char *what) {
            size_t eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) usage(what);
            return std::make_pair(kv.substr(0, eq), kv.substr(eq + 1));
        };
        if (a == "--conninfo") o.conninfo = next();
        else if (a == "--contender") o.contenders = split(next(), ',');
        else if (a == "--scenario") o.scenario = next();
        else if (a == "--label") o.label = next();
        else if (a == "--dist") o.dist = next();
        else if (a == "--clients") o.clients = std::atoi(next().c_str());
        else if (a == "--duration") o.duration = std::atof(next().c_str());
        else if (a == "--warmup") o.warmup = std::atof(next().c_str());
        else if (a == "--keys") o.keys = std::atol(next().c_str());
        else if (a == "--theta") o.theta = std::atof(next().c_str());
        else if (a == "--high-share") o.high_share = std::atof(next().c_str());
        else if (a == "--high-priority") o.high_priority = std::atoi(next().c_str());
        else if (a == "--retry-timeout-ms") o.retry_timeout_ms = std::atoi(next().c_str());
        else if (a == "--max-attempts") o.max_attempts = std::atoi(next().c_str());
        else if (a == "--seed") o.seed = std::strtoul(next().c_str(), nullptr, 10);
        else if (a == "--a-clients") o.a_clients = std::atoi(next().c_str());
        else if (a == "--hot-keys") o.hot_keys = std::atol(next().c_str());
        else if (a == "--shared-share") o.shared_share = std::atof(next().c_str());
        else if (a == "--user-a") o.user_a = next();
        else if (a == "--user-b") o.user_b = next();
        else if (a == "--refused-sleep-ms") o.refused_sleep_ms = std::atoi(next().c_str());
        else if (a == "--tag") o.tags.push_back(key_value(next(), "--tag needs KEY=VALUE"));
        else if (a == "--rounds") o.rounds = std::atoi(next().c_str());
        else if (a == "--first-round") o.first_round = std::atoi(next().c_str());
        else if (a == "--settle") o.settle = std::atof(next().c_str());
        else if (a == "--guard") o.guard = std::atof(next().c_str());
        else if (a == "--tail") {
            auto kv = key_value(next(), "--tail needs VARIANT=SEC");
            o.tails[kv.first] = std::atof(kv.second.c_str());
        }
        else if (a == "--order") o.order = next();
        else if (a == "--configs") {
            for (const std::string &kv : split(next(), ',')) o.configs.push_back(key_value(kv, "--configs needs NAME=VALUE,..."));
        }
        else if (a == "--config-sql") o.config_sql = next();
        else if (a == "--probe-sql") o.probe_sql = next();
        else if (a == "--trace") o.trace_path = next();
        else if (a == "--control-conninfo") o.control_conninfo = next();
        else if (a == "--help" || a == "-h") usage(nullptr);
        else usage(("unknown option " + a).c_str());
    }
    if (o.conninfo.empty() || o.contenders.empty() || o.scenario.empty()) usage("--conninfo, --contender and --scenario are required");
    if (o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.max_attempts < 1 || o.rounds < 0 || o.settle < 0 ||
        o.guard < 0)
        usage("bad --clients, --duration, --warmup, --max-attempts, --rounds, --settle or --guard");

    Workload w(o);
    if (o.label.empty()) o.label = o.scenario;

    Shared sh;
    plan_slices(o, sh);
    Control control(o, sh);
    if (control.needed() && (!control.connect() || !control.apply(0))) return 1;
    std::vector<Client> clients;
    clients.reserve(o.clients);
    for (int i = 0; i < o.clients; i++) clients.emplace_back(o, w, sh, i);
    std::vector<std::thread> threads;
    for (int i = 0; i < o.clients; i++) threads.emplace_back([&clients, i] { clients[i].run(); });
    while (sh.ready.load() < o.clients) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    sh.t0 = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
    sh.t_end = sh.slice_start(long(sh.schedule.size()));
    sh.go = true;
    std::thread control_thread;
    if (control.needed()) control_thread = std::thread([&control] { control.run(); });
    for (auto &t : threads) t.join();
    if (control_thread.joinable()) control_thread.join();
    if (sh.failed) return 1;

    for (long k = 0; k < long(sh.schedule.size()); k++) {
        std::vector<Samples> per_class(w.classes().size());
        for (const Client &c : clients)
            for (size_t cls = 0; cls < per_class.size(); cls++) per_class[cls].merge(c.samples()[k][cls]);
        std::printf("%s\n", result_line(o, w, sh, k, per_class, control).c_str());
    }
    if (!o.trace_path.empty()) write_trace(o.trace_path, clients, sh);
    return 0;
}
