-- Monitoring views on an idle server, and the graph functions on fixed graphs.
SELECT count(*) AS edges FROM lockguard.wait_graph;
SELECT count(*) AS tree_rows FROM lockguard.blocking_tree;
SELECT lockguard.sample_wait_graph() AS sampled_edges;
SELECT count(*) AS history_rows FROM lockguard.wait_history;
SELECT lockguard.flush_deadlocks() >= 0 AS flushed;
SELECT metric, labels, value FROM lockguard.metrics
WHERE metric IN ('lockguard_waiting_backends', 'lockguard_oldest_root_blocker_seconds')
ORDER BY metric;
-- The current graph as DOT when nobody waits: a valid, empty digraph.
SELECT lockguard.wait_graph_dot();

-- A fixed graph: 20 and 30 wait for 10 (the root blocker), 40 waits for 20 and 30 (a diamond),
-- 50 and 60 wait for each other (a cycle with no root), 70 waits for 50.
SELECT tree_row.*
FROM lockguard._blocking_tree(
    ARRAY[20, 30, 40, 40, 50, 60, 70],
    ARRAY[10, 10, 20, 30, 60, 50, 50],
    ARRAY[10, 20, 30, 40, 50, 60, 70],
    ARRAY[-1, 900, 800, 700, 600, 500, 400]::bigint[]) AS tree_row;

SELECT lockguard.dot_graph(
    ARRAY[20, 30], ARRAY[10, 10], ARRAY[10, 20, 30], ARRAY[-1, 1500, 200]::bigint[],
    ARRAY['app@web: UPDATE accounts SET balance = 0', 'app@web: SELECT "quoted" \ back', 'batch@cron: LOCK accounts'],
    'fixed graph');

-- Bad input to the graph functions.
SELECT lockguard.dot_graph(ARRAY[1], ARRAY[]::integer[], ARRAY[]::integer[], ARRAY[]::bigint[]);
SELECT lockguard.dot_graph(ARRAY[1], ARRAY[2], ARRAY[1, 2], ARRAY[5]::bigint[]);
SELECT * FROM lockguard._blocking_tree(ARRAY[1, NULL], ARRAY[2, 3], NULL, NULL);
SELECT count(*) FROM lockguard._blocking_tree(NULL, NULL, NULL, NULL);

