-- pgTAP: lockguard.lock_policies has the documented columns, include_children (1.2) defaults to
-- covering partitions and inheritance children, and the opt-out works.
BEGIN;
SELECT plan(9);

SELECT columns_are('lockguard', 'lock_policies',
                   ARRAY['relation', 'forbidden_modes', 'exempt_roles', 'reason', 'forbid_exclusive_row_marks',
                         'enabled', 'include_children'],
                   'lockguard.lock_policies has the documented columns');
SELECT col_type_is('lockguard', 'lock_policies', 'include_children', 'boolean', 'include_children is boolean');
SELECT col_not_null('lockguard', 'lock_policies', 'include_children', 'include_children is NOT NULL');
SELECT col_default_is('lockguard', 'lock_policies', 'include_children', 'true',
                      'include_children defaults to true (policies cover partitions and children)');

CREATE TABLE pgtap_events (id int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE pgtap_events_1 PARTITION OF pgtap_events FOR VALUES FROM (0) TO (100);
CREATE TABLE pgtap_events_2 (LIKE pgtap_events);
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('pgtap_events', 'pgtap');
SELECT throws_ok($$LOCK TABLE pgtap_events_1 IN ACCESS EXCLUSIVE MODE$$, 'LG004', NULL,
                 'a policy on a partitioned table covers its partitions');
SELECT lives_ok($$ALTER TABLE pgtap_events ATTACH PARTITION pgtap_events_2 FOR VALUES FROM (100) TO (200)$$,
                'attaching a partition (SHARE UPDATE EXCLUSIVE on the parent) is allowed');
SELECT throws_ok($$TRUNCATE pgtap_events_2$$, 'LG004', NULL, 'a partition attached later is covered');
UPDATE lockguard.lock_policies SET include_children = false WHERE relation = 'pgtap_events'::regclass;
SELECT lives_ok($$LOCK TABLE pgtap_events_1 IN ACCESS EXCLUSIVE MODE$$,
                'with include_children = false the partitions are not covered');
SELECT throws_ok($$LOCK TABLE pgtap_events IN ACCESS EXCLUSIVE MODE$$, 'LG004', NULL,
                 'the table itself still is');

SELECT * FROM finish();
ROLLBACK;
