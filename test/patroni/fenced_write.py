#!/usr/bin/python3
"""An application that holds an etcd lock and passes the lock's revision to lockguard as its
fencing token (docs/failover.md). Run it under the lock:

    etcdctl lock /locks/ledger -- python3 fenced_write.py --conninfo '...' --resource etcd:ledger --writer A --out a.json

etcdctl runs it once the lock is held and sets ETCD_LOCK_KEY (the lock's key) and ETCD_LOCK_REV
(the etcd revision at which the lock was granted; a later holder is granted it at a higher
revision). Every write carries the revision in the fenced column of etcd_ledger, whose
lockguard.fencing_token_guard trigger rejects a revision older than one already written (LG003).

--ready-file and --then-wait-for let the scenario stall the holder after its first write and
wake it later, when its lock may be gone: it then writes once more with the same revision.
Writes what happened as JSON to --out.
"""
import argparse
import json
import os
import time

import psycopg2


def write(conninfo, resource, writer, token):
    """One write in its own transaction: {} when committed, else the SQLSTATE and message."""
    try:
        conn = psycopg2.connect(conninfo)
    except psycopg2.Error as e:
        return {'sqlstate': 'connection', 'message': str(e)}
    try:
        with conn, conn.cursor() as cur:   # commits, or rolls back on error
            cur.execute('INSERT INTO etcd_ledger (resource, writer, fence) VALUES (%s, %s, %s)',
                        (resource, writer, token))
        return {}
    except psycopg2.Error as e:
        return {'sqlstate': e.pgcode, 'message': e.pgerror}
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--conninfo', required=True)
    parser.add_argument('--resource', required=True)
    parser.add_argument('--writer', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--ready-file')
    parser.add_argument('--then-wait-for')
    args = parser.parse_args()

    token = int(os.environ['ETCD_LOCK_REV'])
    report = {'writer': args.writer, 'key': os.environ.get('ETCD_LOCK_KEY'), 'revision': token, 'writes': []}
    report['writes'].append(write(args.conninfo, args.resource, args.writer, token))
    if args.ready_file:
        open(args.ready_file, 'w').close()
    if args.then_wait_for:
        deadline = time.monotonic() + 120
        while not os.path.exists(args.then_wait_for) and time.monotonic() < deadline:
            time.sleep(0.1)
        report['writes'].append(write(args.conninfo, args.resource, args.writer, token))
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(report, f)
    os.rename(tmp, args.out)   # the scenario waits for this file: it appears complete


if __name__ == '__main__':
    main()
